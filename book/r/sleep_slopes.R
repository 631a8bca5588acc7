# Chapter 3: repeated measures with random intercepts and slopes (lme4).
# Run in RStudio from this folder, or: Rscript sleep_slopes.R [data.csv] [results.json]
suppressPackageStartupMessages(library(lmerTest))  # lme4, plus t-tests with Satterthwaite df
args <- commandArgs(trailingOnly = TRUE)
data_file <- if (length(args) >= 1 && nzchar(args[1])) args[1] else "../../data/sleepstudy.csv"
sleep <- read.csv(data_file)
sleep$Subject <- factor(sleep$Subject)

slopes <- lmer(Reaction ~ Days + (Days | Subject), data = sleep)
summary(slopes)

if (length(args) >= 2) {
  source("export_results.R")
  export_results(list(slopes = slopes), args[2])
}
