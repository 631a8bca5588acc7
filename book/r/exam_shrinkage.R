# Chapter 5: shrinkage of the school effects in the null model of the Exam data (lme4).
# Run in RStudio from this folder (or from the unzipped download), or: Rscript exam_shrinkage.R [data.csv] [results.json]
suppressPackageStartupMessages(library(lmerTest))  # lme4, plus t-tests with Satterthwaite df
args <- commandArgs(trailingOnly = TRUE)
# Data: exam.csv (the first argument, else in the folder $DATA_DIR, else here, else ../../data)
data_dir <- Sys.getenv("DATA_DIR", if (file.exists("exam.csv")) "." else "../../data")
data_file <- if (length(args) >= 1 && nzchar(args[1])) args[1] else file.path(data_dir, "exam.csv")
exam <- read.csv(data_file)
exam$school <- factor(exam$school)

null <- lmer(normexam ~ 1 + (1 | school), data = exam, REML = TRUE)
summary(null)

# Predicted school effects (conditional modes) and their conditional standard deviations
effects <- as.data.frame(ranef(null, condVar = TRUE))
# The reliability of each school mean from the ICC: lambda = n rho / (1 + (n - 1) rho)
vc <- as.data.frame(VarCorr(null))
rho <- vc$vcov[1] / sum(vc$vcov)
n <- as.vector(table(exam$school))  # in the order of levels(exam$school), as ranef()
raw_mean <- as.vector(tapply(exam$normexam, exam$school, mean))
shrink <- data.frame(school = levels(exam$school), n = n, raw_mean = raw_mean,
                     partial = fixef(null)[1] + effects$condval,
                     lambda = n * rho / (1 + (n - 1) * rho), cond_sd = effects$condsd)
print(head(shrink[order(shrink$n), ]), digits = 4, row.names = FALSE)
# Each predicted effect is lambda times the raw deviation from the overall mean
implied <- effects$condval / (raw_mean - fixef(null)[1])
cat("\nLargest difference between lambda and the implied weight:", max(abs(shrink$lambda - implied)), "\n")

# Intervals for comparing pairs of schools (Goldstein and Healy 1995): +/- 1.96 / sqrt(2) SE
z <- qnorm(0.975) / sqrt(2)
shrink$low <- shrink$partial - z * shrink$cond_sd
shrink$high <- shrink$partial + z * shrink$cond_sd
cat("Comparison intervals of +/-", round(z, 2), "SE; the two highest schools:\n")
print(tail(shrink[order(shrink$partial), c("school", "n", "partial", "low", "high")], 2), digits = 4, row.names = FALSE)

if (length(args) >= 2) {
  source("export_results.R")
  export_results(list(null = null), args[2])
}
