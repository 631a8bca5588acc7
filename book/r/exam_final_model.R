# Chapter 7: the final model of the sequence, fitted by ML for comparisons, and a maximal model (lme4).
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
cat("\nAIC:", AIC(final_ml), " BIC:", BIC(final_ml), " (BIC's n is the number of pupils,", nobs(final_ml), ")\n")

# Going further: the maximal model, with random slopes for both pupil-level predictors.
# Its likelihood is flat along the direction that has no variance, so tight tolerances are
# needed to reach the optimum itself rather than a point near it.
exam$boy <- as.numeric(exam$sex == "M")
maximal <- lmer(normexam ~ standLRT + boy + (standLRT + boy | school), data = exam,
                control = lmerControl(optCtrl = list(ftol_abs = 1e-12, ftol_rel = 1e-12,
                                                     xtol_abs = 1e-10, xtol_rel = 1e-10)))
print(VarCorr(maximal), comp = c("Variance", "Std.Dev."))
cat("Singular:", isSingular(maximal), "\n")
summary(rePCA(maximal))  # principal components of the school effects, relative to sigma
parsimonious <- lmer(normexam ~ standLRT + boy + (standLRT | school), data = exam)
source("lme_tests.R")
boundary_lrt(parsimonious, maximal)

if (length(args) >= 2) {
  source("export_results.R")
  export_results(list(final_ml = final_ml, maximal = maximal), args[2])
}
