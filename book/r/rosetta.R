# The syntax Rosetta stone: every random-effects structure the book uses, in lme4.
# Run in RStudio from this folder (or from the unzipped download), or: Rscript rosetta.R [data folder] [results.json]
suppressPackageStartupMessages(library(lmerTest))  # lme4, plus t-tests with Satterthwaite df
args <- commandArgs(trailingOnly = TRUE)
# Data: exam.csv, sleepstudy.csv, pastes.csv, penicillin.csv (in the folder given as the first
# argument, else in $DATA_DIR, else here, else ../../data)
data_dir <- if (length(args) >= 1 && nzchar(args[1])) args[1] else
  Sys.getenv("DATA_DIR", if (file.exists("exam.csv")) "." else "../../data")
read <- function(name, factors) {
  d <- read.csv(file.path(data_dir, paste0(name, ".csv")))
  for (f in factors) d[[f]] <- factor(d[[f]])
  d
}
exam <- read("exam", "school")
sleep <- read("sleepstudy", "Subject")
pastes <- read("pastes", c("batch", "cask"))
penicillin <- read("penicillin", c("plate", "sample"))

models <- list(
  intercept = lmer(normexam ~ standLRT + (1 | school), data = exam),
  correlated = lmer(normexam ~ standLRT + (standLRT | school), data = exam),
  uncorrelated = lmer(normexam ~ standLRT + (standLRT || school), data = exam),
  nested = lmer(strength ~ 1 + (1 | batch/cask), data = pastes),
  crossed = lmer(diameter ~ 1 + (1 | plate) + (1 | sample), data = penicillin),
  slope_only = lmer(Reaction ~ Days + (0 + Days | Subject), data = sleep)
)
for (name in names(models)) {
  cat("\n=====", name, "=====\n")
  print(formula(models[[name]]))
  print(VarCorr(models[[name]]), comp = "Variance")
}

if (length(args) >= 2) {
  source("export_results.R")
  export_results(models, args[2])
}
