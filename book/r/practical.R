# The practical: schools in England's local authorities, in R with lme4.
# Run in RStudio from this folder (or from the unzipped download), or: Rscript practical.R [data.csv] [results.json]
# The data are the book's synthetic England schools (see data/README.md); to use the
# real DfE file, read it here instead and keep the same column names.
suppressPackageStartupMessages(library(lmerTest))  # lme4, plus t-tests with Satterthwaite df
args <- commandArgs(trailingOnly = TRUE)
# Data: england_schools_synthetic.csv (the first argument, else in the folder $DATA_DIR, else here, else ../../data)
data_dir <- Sys.getenv("DATA_DIR", if (file.exists("england_schools_synthetic.csv")) "." else "../../data")
data_file <- if (length(args) >= 1 && nzchar(args[1])) args[1] else file.path(data_dir, "england_schools_synthetic.csv")

# ---- task1 ----
cat("---- task1 ----\n")
schools <- read.csv(data_file, colClasses = c(URN = "character", LEA = "character"))
schools <- schools[!is.na(schools$ATT8SCR), ]   # results suppressed for some schools
cat("schools:", nrow(schools), " authorities:", length(unique(schools$LANAME)),
    " regions:", length(unique(schools$gor_name)), "\n")
schools$log_att8 <- log(schools$ATT8SCR)
schools$log_fsm <- log(schools$PTFSM6CLA1A / 24)   # 0 at 24% disadvantaged, about the median
schools$log_abs <- log(schools$PERCTOT / 9)         # 0 at 9% absence, about the median

# ---- task2 ----
cat("---- task2 ----\n")
ols <- lm(log_att8 ~ log_fsm + log_abs, data = schools)
print(round(coef(summary(ols)), 4))
cat("R-squared:", summary(ols)$r.squared, "\n")

# ---- task3 ----
cat("---- task3 ----\n")
null_la <- lmer(log_att8 ~ 1 + (1 | LANAME), data = schools)
vc <- as.data.frame(VarCorr(null_la))
cat("ICC:", vc$vcov[1] / sum(vc$vcov), "\n")
print(anova(null_la, lm(log_att8 ~ 1, data = schools)))
null_3 <- lmer(log_att8 ~ 1 + (1 | gor_name/LANAME), data = schools)
print(VarCorr(null_3), comp = "Variance")

# ---- task4 ----
cat("---- task4 ----\n")
school_fx <- lmer(log_att8 ~ log_fsm + log_abs + (1 | LANAME), data = schools)
print(VarCorr(school_fx), comp = "Variance")
print(round(fixef(school_fx), 4))

# ---- task5 ----
cat("---- task5 ----\n")
slopes <- lmer(log_att8 ~ log_fsm + log_abs + (log_fsm | LANAME), data = schools)
print(VarCorr(slopes), comp = c("Variance", "Std.Dev."))
cat("singular:", isSingular(slopes), "\n")
print(anova(school_fx, slopes, refit = FALSE))

# ---- task6 ----
cat("---- task6 ----\n")
policy <- lmer(log_att8 ~ log_fsm + log_abs + LA_TUTORING + LA_OFFICERS + LA_EARLY_YEARS + (1 | LANAME),
               data = schools)
print(round(coef(summary(policy)), 5))

# ---- task7 ----
cat("---- task7 ----\n")
la_effects <- ranef(policy, condVar = TRUE)$LANAME
print(head(la_effects[order(la_effects[, 1]), , drop = FALSE], 3))

# ---- end ----
cat("---- end ----\n")
if (length(args) >= 2) {
  source("export_results.R")
  export_results(list(school_fx = school_fx, slopes = slopes, policy = policy), args[2])
}
