# Chapters 2, 4 and 5: the null (variance components) model of the Exam data (lme4).
# Run in RStudio from this folder (or from the unzipped download), or: Rscript exam_null.R [data.csv] [results.json]
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
# Data: exam.csv (the first argument, else in the folder $DATA_DIR, else here, else ../../data)
data_dir <- Sys.getenv("DATA_DIR", if (file.exists("exam.csv")) "." else "../../data")
data_file <- if (length(args) >= 1 && nzchar(args[1])) args[1] else file.path(data_dir, "exam.csv")
exam <- read.csv(data_file)
exam$school <- factor(exam$school)

null <- lmer(normexam ~ 1 + (1 | school), data = exam, REML = TRUE)
summary(null)

# The ICC and the test against OLS (ML fits, as anova() refits them)
vc <- as.data.frame(VarCorr(null))
cat("\nICC:", vc$vcov[1] / sum(vc$vcov), "\n")
anova(null, lm(normexam ~ 1, data = exam))

if (length(args) >= 2) {
  source("export_results.R")
  export_results(list(null = null), args[2])
}
