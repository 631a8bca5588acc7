# Chapter 2: the within (fixed-effects) slope of reading score and the within-between
# (Mundlak, "hybrid") random-intercept model of the Exam data (lme4, lmerTest).
# Run in RStudio from this folder (or from the unzipped download), or: Rscript exam_within_between.R [data.csv] [results.json]
suppressPackageStartupMessages(library(lmerTest))  # lme4, plus t-tests with Satterthwaite df
args <- commandArgs(trailingOnly = TRUE)
# Data: exam.csv (the first argument, else in the folder $DATA_DIR, else here, else ../../data)
data_dir <- Sys.getenv("DATA_DIR", if (file.exists("exam.csv")) "." else "../../data")
data_file <- if (length(args) >= 1 && nzchar(args[1])) args[1] else file.path(data_dir, "exam.csv")
exam <- read.csv(data_file)
exam$school <- factor(exam$school)

# Each school's mean reading score, and each pupil's distance from it
exam$lrt_mean <- ave(exam$standLRT, exam$school)
exam$lrt_within <- exam$standLRT - exam$lrt_mean

# One dummy per school: the econometric fixed-effects estimator of the slope
dummies <- lm(normexam ~ standLRT + school, data = exam)
cat("Dummy-variable (fixed-effects) slope of standLRT:", coef(dummies)[["standLRT"]], "\n\n")

# The within-between model: the within slope and the between slope in one random-intercept model
within_between <- lmer(normexam ~ lrt_within + lrt_mean + (1 | school), data = exam)
summary(within_between)

# Mundlak's form: the raw predictor plus the school mean; the mean's coefficient is the
# contextual effect (between minus within), and its t-test asks whether they differ
mundlak <- lmer(normexam ~ standLRT + lrt_mean + (1 | school), data = exam)
coef(summary(mundlak))

if (length(args) >= 2) {
  source("export_results.R")
  export_results(list(within_between = within_between, mundlak = mundlak), args[2])
}
