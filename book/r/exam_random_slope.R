# Chapter 6: a random slope for reading score across schools (lme4).
# Run in RStudio from this folder (or from the unzipped download), or: Rscript exam_random_slope.R [data.csv] [results.json]
suppressPackageStartupMessages(library(lmerTest))  # lme4, plus t-tests with Satterthwaite df
args <- commandArgs(trailingOnly = TRUE)
# Data: exam.csv (the first argument, else in the folder $DATA_DIR, else here, else ../../data)
data_dir <- Sys.getenv("DATA_DIR", if (file.exists("exam.csv")) "." else "../../data")
data_file <- if (length(args) >= 1 && nzchar(args[1])) args[1] else file.path(data_dir, "exam.csv")
exam <- read.csv(data_file)
exam$school <- factor(exam$school)

intercepts <- lmer(normexam ~ standLRT + (1 | school), data = exam)
slopes <- lmer(normexam ~ standLRT + (standLRT | school), data = exam)
summary(slopes)
# Same fixed effects, so the REML fits can be compared directly; the slope variance is zero
# under the null hypothesis, so the p-value needs the boundary correction
source("lme_tests.R")
boundary_lrt(intercepts, slopes)

# Going further: with a random slope, group-mean and grand-mean centring are different models
exam$lrt_school_mean <- ave(exam$standLRT, exam$school)
exam$lrt_within <- exam$standLRT - exam$lrt_school_mean
raw_ml <- lmer(normexam ~ standLRT + lrt_school_mean + (standLRT | school), data = exam, REML = FALSE)
within_ml <- lmer(normexam ~ lrt_within + lrt_school_mean + (lrt_within | school), data = exam, REML = FALSE)
cat("\nLog-likelihoods, raw score:", logLik(raw_ml), " group-mean centred:", logLik(within_ml), "\n")

if (length(args) >= 2) {
  source("export_results.R")
  export_results(list(slopes = slopes, raw_ml = raw_ml, within_ml = within_ml), args[2])
}
