# Chapter 1: a school-level predictor, with pupils clustered in schools (lme4).
# Run in RStudio from this folder (or from the unzipped download), or: Rscript exam_school_predictor.R [data.csv] [results.json]
suppressPackageStartupMessages(library(lmerTest))  # lme4, plus t-tests with Satterthwaite df
args <- commandArgs(trailingOnly = TRUE)
# Data: exam.csv (the first argument, else in the folder $DATA_DIR, else here, else ../../data)
data_dir <- Sys.getenv("DATA_DIR", if (file.exists("exam.csv")) "." else "../../data")
data_file <- if (length(args) >= 1 && nzchar(args[1])) args[1] else file.path(data_dir, "exam.csv")
exam <- read.csv(data_file)
exam$school <- factor(exam$school)

ols <- lm(normexam ~ schavg, data = exam)
lme <- lmer(normexam ~ schavg + (1 | school), data = exam)
cat("OLS standard error of schavg:", coef(summary(ols))["schavg", "Std. Error"], "\n")
cat("LME standard error of schavg:", coef(summary(lme))["schavg", "Std. Error"], "\n\n")
summary(lme)

if (length(args) >= 2) {
  source("export_results.R")
  export_results(list(lme = lme), args[2])
}
