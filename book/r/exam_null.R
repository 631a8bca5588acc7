# Chapters 2, 4 and 5: the null (variance components) model of the Exam data (lme4).
# Run in RStudio from this folder (or from the unzipped download), or: Rscript exam_null.R [data.csv] [results.json]
suppressPackageStartupMessages(library(lmerTest))  # lme4, plus t-tests with Satterthwaite df
args <- commandArgs(trailingOnly = TRUE)
# Data: exam.csv (the first argument, else in the folder $DATA_DIR, else here, else ../../data)
data_dir <- Sys.getenv("DATA_DIR", if (file.exists("exam.csv")) "." else "../../data")
data_file <- if (length(args) >= 1 && nzchar(args[1])) args[1] else file.path(data_dir, "exam.csv")
exam <- read.csv(data_file)
exam$school <- factor(exam$school)

null <- lmer(normexam ~ 1 + (1 | school), data = exam, REML = TRUE)
summary(null)

# The ICC, by hand and from the performance package
vc <- as.data.frame(VarCorr(null))
cat("\nICC:", vc$vcov[1] / sum(vc$vcov), "\n")
performance::icc(null)

# Is the school variance needed? The boundary-corrected likelihood-ratio test against OLS
source("lme_tests.R")
boundary_lrt(lm(normexam ~ 1, data = exam), null)

# Profile confidence intervals for the standard deviations and the intercept
confint(null, oldNames = FALSE)

if (length(args) >= 2) {
  source("export_results.R")
  export_results(list(null = null), args[2])
}
