# The practical: England's secondary schools in their local authorities, 2022/23, in R.
# Run in RStudio from this folder (or from the unzipped download), or:
#   Rscript practical.R [data folder] [results.json]
# Data: england_ks4_2022_23.csv, england_schools_synthetic.csv, england_schools_truth.json (in the folder given as the first argument, else in $DATA_DIR, else here, else ../../data)
# Each task's code starts at a comment line "# ---- task ----".

# ---- setup ----
suppressPackageStartupMessages({
  library(lmerTest)     # lme4, plus t-tests with Satterthwaite's degrees of freedom
  library(performance)  # icc()
})
source("lme_tests.R")   # boundary_lrt(): the likelihood-ratio test of a variance, boundary-corrected
args <- commandArgs(trailingOnly = TRUE)
data_dir <- if (length(args) >= 1 && nzchar(args[1])) args[1] else
  Sys.getenv("DATA_DIR", if (file.exists("england_ks4_2022_23.csv")) "." else "../../data")
schools <- read.csv(file.path(data_dir, "england_ks4_2022_23.csv"),
                    colClasses = c(URN = "character", LEA = "character"),
                    na.strings = c("NA", "", "SUPP", "NE", "NP", "SP", "SN", "LOWCOV", "NEW", "SUPPMAT", "x", "c", "z"))
schools <- schools[!is.na(schools$P8MEA), ]       # the schools with a Progress 8 score
schools$disadv <- (schools$PTFSM6CLA1A - 25) / 10  # 0 at 25% disadvantaged pupils, per 10 points

# ---- task1 ----
cat("schools:", nrow(schools), " authorities:", length(unique(schools$LANAME)),
    " regions:", length(unique(schools$gor_name)), "\n")
per_la <- table(schools$LANAME)
print(summary(as.vector(per_la)))
print(head(sort(per_la), 5))

# ---- task2 ----
ols <- lm(P8MEA ~ disadv, data = schools)
print(coef(summary(ols)))
schools$ols_resid <- resid(ols)
la_resid <- sort(tapply(schools$ols_resid, schools$LANAME, mean))
print(round(c(head(la_resid, 3), tail(la_resid, 3)), 3))

# ---- task3 ----
null_p8 <- lmer(P8MEA ~ 1 + (1 | LANAME), data = schools)
print(VarCorr(null_p8), comp = "Variance")
print(icc(null_p8))
null_att8 <- lmer(ATT8SCR ~ 1 + (1 | LANAME), data = schools)
print(icc(null_att8))
boundary_lrt(lm(P8MEA ~ 1, data = schools), null_p8)
print(confint(null_p8, method = "profile", oldNames = FALSE))

# ---- task4 ----
rated <- schools[!is.na(schools$OFSTEDRATING), ]
ofsted <- lmer(P8MEA ~ 1 + (1 | OFSTEDRATING), data = rated)
print(icc(ofsted))
print(confint(ofsted, method = "profile", oldNames = FALSE))
print(round(tapply(rated$P8MEA, rated$OFSTEDRATING, mean), 3))

# ---- task5 ----
disadvantage <- lmer(P8MEA ~ disadv + (1 | LANAME), data = schools)
print(coef(summary(disadvantage)))
print(VarCorr(disadvantage), comp = "Variance")

# ---- task6 ----
slope <- lmer(P8MEA ~ disadv + (disadv | LANAME), data = schools)
print(VarCorr(slope), comp = c("Variance", "Std.Dev."))
cat("singular:", isSingular(slope), "\n")
boundary_lrt(disadvantage, slope)

# ---- task7 ----
slope_uncorr <- lmer(P8MEA ~ disadv + (disadv || LANAME), data = schools)
# Nine regions make the likelihood flat in the region variance: a tighter tolerance than lme4's
# default takes the optimiser all the way to the maximum.
tight <- lmerControl(optCtrl = list(ftol_abs = 1e-12, ftol_rel = 1e-12, xtol_abs = 1e-10, xtol_rel = 1e-10))
region <- lmer(P8MEA ~ disadv + (1 | gor_name) + (disadv || LANAME), data = schools, control = tight)
print(VarCorr(region), comp = "Variance")
boundary_lrt(slope_uncorr, region)
# lme4 also fits the correlated slope within the three levels:
region_corr <- lmer(P8MEA ~ disadv + (1 | gor_name) + (disadv | LANAME), data = schools, control = tight)
print(VarCorr(region_corr), comp = "Variance")

# ---- task8 ----
effects <- ranef(disadvantage)$LANAME[, 1]
names(effects) <- rownames(ranef(disadvantage)$LANAME)
fixed_part <- predict(disadvantage, re.form = NA)
raw <- tapply(schools$P8MEA - fixed_part, schools$LANAME, mean)  # each authority's own mean residual
n <- as.vector(table(schools$LANAME)[names(effects)])
intercept <- fixef(disadvantage)[["(Intercept)"]]  # the fixed intercept, as lh.shrinkage adds it
tau2 <- as.data.frame(VarCorr(disadvantage))$vcov[1]
lambda <- tau2 / (tau2 + sigma(disadvantage)^2 / n)
moves <- data.frame(n = n, no_pooling = intercept + raw[names(effects)], complete_pooling = intercept,
                    partial_pooling = intercept + effects, shrinkage = lambda,
                    pulled = raw[names(effects)] - effects)
print(round(head(moves[order(-abs(moves$pulled)), ], 5), 3))

# ---- task9 ----
academy <- lmer(P8MEA ~ disadv + MINORGROUP + (disadv | LANAME), data = schools)
coefs <- coef(summary(academy))
t_crit <- qt(0.975, coefs[, "df"])
print(cbind(coefs, conf_low = coefs[, "Estimate"] - t_crit * coefs[, "Std. Error"],
            conf_high = coefs[, "Estimate"] + t_crit * coefs[, "Std. Error"]))
new <- data.frame(disadv = (40 - 25) / 10, MINORGROUP = "Maintained school", LANAME = c("Hackney", "Knowsley"))
print(cbind(new, with_authority = predict(academy, newdata = new),
            average_authority = predict(academy, newdata = new, re.form = NA)))

# ---- synthetic ----
synthetic <- read.csv(file.path(data_dir, "england_schools_synthetic.csv"),
                      colClasses = c(URN = "character", LEA = "character"))
synthetic <- synthetic[!is.na(synthetic$ATT8SCR), ]
synthetic$log_att8 <- log(synthetic$ATT8SCR)
synthetic$log_fsm <- log(synthetic$PTFSM6CLA1A / 24)
synthetic$log_abs <- log(synthetic$PERCTOT / 9)
truth <- jsonlite::fromJSON(file.path(data_dir, "england_schools_truth.json"))
method_check <- lmer(log_att8 ~ log_fsm + log_abs + LA_TUTORING + LA_OFFICERS + LA_EARLY_YEARS +
                       (1 | gor_name) + (log_fsm || LANAME), data = synthetic, control = tight)
print(coef(summary(method_check))[-1, c("Estimate", "Std. Error", "df")])
print(VarCorr(method_check), comp = "Variance")
cat("true variances: region", truth$var_region, " authority", truth$var_la, " slope", truth$var_la_slope,
    " school", truth$var_school, "\n")

# ---- end ----
if (length(args) >= 2) {
  source("export_results.R")
  export_results(list(null_p8 = null_p8, disadvantage = disadvantage, slope = slope, region = region,
                      academy = academy, method_check = method_check), args[2])
}
