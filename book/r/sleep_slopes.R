# Chapter 3: repeated measures with random intercepts and slopes (lme4).
# Run in RStudio from this folder (or from the unzipped download), or: Rscript sleep_slopes.R [data.csv] [results.json]
suppressPackageStartupMessages(library(lmerTest))  # lme4, plus t-tests with Satterthwaite df
args <- commandArgs(trailingOnly = TRUE)
# Data: sleepstudy.csv (the first argument, else in the folder $DATA_DIR, else here, else ../../data)
data_dir <- Sys.getenv("DATA_DIR", if (file.exists("sleepstudy.csv")) "." else "../../data")
data_file <- if (length(args) >= 1 && nzchar(args[1])) args[1] else file.path(data_dir, "sleepstudy.csv")
sleep <- read.csv(data_file)
sleep$Subject <- factor(sleep$Subject)

slopes <- lmer(Reaction ~ Days + (Days | Subject), data = sleep)
summary(slopes)

if (length(args) >= 2) {
  source("export_results.R")
  export_results(list(slopes = slopes), args[2])
}
