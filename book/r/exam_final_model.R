# Chapter 7: the final model of the sequence, fitted by ML for comparisons (lme4).
# Run in RStudio from this folder (or from the unzipped download), or: Rscript exam_final_model.R [data.csv] [results.json]
suppressPackageStartupMessages(library(lmerTest))  # lme4, plus t-tests with Satterthwaite df
args <- commandArgs(trailingOnly = TRUE)
# Data: exam.csv (the first argument, else in the folder $DATA_DIR, else here, else ../../data)
data_dir <- Sys.getenv("DATA_DIR", if (file.exists("exam.csv")) "." else "../../data")
data_file <- if (length(args) >= 1 && nzchar(args[1])) args[1] else file.path(data_dir, "exam.csv")
exam <- read.csv(data_file)
exam$school <- factor(exam$school)
exam$sex <- factor(exam$sex, levels = c("F", "M"))

final_ml <- lmer(normexam ~ standLRT + sex + schavg + (standLRT | school), data = exam, REML = FALSE)
summary(final_ml)
cat("\nAIC:", AIC(final_ml), " BIC:", BIC(final_ml), "\n")

if (length(args) >= 2) {
  source("export_results.R")
  export_results(list(final_ml = final_ml), args[2])
}
