# Reference results from R's lme4 (and lmerTest, performance) for the models the book uses:
# estimates, variance components with correlations, BLUPs, vcov, Satterthwaite t-tests and
# intervals, AIC/BIC, ICC, R², and likelihood-ratio comparisons (anova with refit = TRUE and FALSE).
#
# Usage (from the repository root):
#   Rscript tests/r/lme4_reference.R [output.json]
# Default output: tests/reference/lme4_reference.json. The test suite compares
# lme_helpers with this file, and re-runs the script live when R is present.

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(performance)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
out_file <- if (length(args) >= 1 && nzchar(args[1])) args[1] else "tests/reference/lme4_reference.json"
data_dir <- Sys.getenv("LME_HELPERS_DATA", "data")

read_data <- function(name, factors) {
  d <- read.csv(file.path(data_dir, paste0(name, ".csv")), stringsAsFactors = FALSE)
  levels <- fromJSON(file.path(data_dir, "levels.json"))[[name]]
  for (f in factors) {
    lv <- if (!is.null(levels[[f]])) as.character(levels[[f]]) else sort(unique(as.character(d[[f]])))
    d[[f]] <- factor(as.character(d[[f]]), levels = lv)
  }
  d
}

exam <- read_data("exam", c("school", "schgend", "sex", "type", "vr", "intake"))
sleep <- read_data("sleepstudy", c("Subject"))
penicillin <- read_data("penicillin", c("plate", "sample"))
pastes <- read_data("pastes", c("batch", "cask", "sample"))
england <- read.csv(file.path(data_dir, "england_schools_synthetic.csv"), stringsAsFactors = FALSE)
england <- england[!is.na(england$ATT8SCR), ]
england$log_att8 <- log(england$ATT8SCR)
england$log_fsm <- log(england$PTFSM6CLA1A) - log(24)
england$log_abs <- log(england$PERCTOT) - log(9)

models <- list(
  list(id = "exam_null_reml", data = "exam", formula = "normexam ~ 1 + (1 | school)", reml = TRUE),
  list(id = "exam_null_ml", data = "exam", formula = "normexam ~ 1 + (1 | school)", reml = FALSE),
  list(id = "exam_slope", data = "exam", formula = "normexam ~ standLRT + (standLRT | school)", reml = TRUE),
  list(id = "exam_slope_ml", data = "exam", formula = "normexam ~ standLRT + (standLRT | school)", reml = FALSE),
  list(id = "exam_school_predictors", data = "exam",
       formula = "normexam ~ standLRT + sex + schavg + schgend + (1 | school)", reml = TRUE),
  list(id = "sleep_slope", data = "sleep", formula = "Reaction ~ Days + (Days | Subject)", reml = TRUE),
  list(id = "sleep_uncorrelated", data = "sleep", formula = "Reaction ~ Days + (Days || Subject)", reml = TRUE),
  list(id = "penicillin_crossed", data = "penicillin", formula = "diameter ~ 1 + (1 | plate) + (1 | sample)", reml = TRUE),
  list(id = "pastes_nested", data = "pastes", formula = "strength ~ 1 + (1 | batch/cask)", reml = TRUE),
  list(id = "england_null", data = "england", formula = "ATT8SCR ~ 1 + (1 | LANAME)", reml = TRUE),
  list(id = "england_three_level", data = "england", formula = "ATT8SCR ~ 1 + (1 | gor_name/LANAME)", reml = TRUE),
  list(id = "england_policy", data = "england",
       formula = "log_att8 ~ log_fsm + log_abs + LA_TUTORING + LA_OFFICERS + LA_EARLY_YEARS + (1 | LANAME)", reml = FALSE)
)

frames <- list(exam = exam, sleep = sleep, penicillin = penicillin, pastes = pastes, england = england)

result <- list(
  generated_by = "tests/r/lme4_reference.R",
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  lme4 = as.character(packageVersion("lme4")),
                  lmerTest = as.character(packageVersion("lmerTest")),
                  performance = as.character(packageVersion("performance"))),
  models = list()
)

# Tight optimiser tolerances: the reference should be the optimum itself, not a point
# within the default tolerance of it (the two differ by ~1e-4 in flat directions).
control <- lmerControl(optCtrl = list(ftol_abs = 1e-12, ftol_rel = 1e-12, xtol_abs = 1e-10, xtol_rel = 1e-10))
fits <- list()

for (spec in models) {
  # lmerTest's lmer is lme4's fit plus Satterthwaite's t-tests
  fit <- lmerTest::lmer(as.formula(spec$formula), data = frames[[spec$data]], REML = spec$reml, control = control)
  fits[[spec$id]] <- fit
  coefs <- summary(fit)$coefficients
  V <- as.matrix(vcov(fit))
  q <- qt(0.975, coefs[, "df"])
  wald <- confint(fit, method = "Wald", parm = "beta_")
  vc <- as.data.frame(VarCorr(fit))
  vc$var1[is.na(vc$var1)] <- ""
  vc$var2[is.na(vc$var2)] <- ""
  re <- as.data.frame(ranef(fit, condVar = TRUE))
  icc_value <- tryCatch(performance::icc(fit)$ICC_adjusted, error = function(e) NA)
  r2_value <- tryCatch(performance::r2_nakagawa(fit), error = function(e) list(R2_marginal = NA, R2_conditional = NA))
  result$models[[spec$id]] <- list(
    data = spec$data,
    formula = spec$formula,
    reml = spec$reml,
    nobs = nobs(fit),
    loglik = as.numeric(logLik(fit)),
    singular = isSingular(fit),
    aic = AIC(fit),
    bic = BIC(fit),
    fixef = list(term = names(fixef(fit)), estimate = unname(fixef(fit)),
                 std_error = unname(sqrt(diag(V)))),
    # lmerTest's t-tests; the 95% intervals on the same df; Wald z-tests and intervals
    ttest = list(term = rownames(coefs), df = unname(coefs[, "df"]), statistic = unname(coefs[, "t value"]),
                 p_value = unname(coefs[, "Pr(>|t|)"]),
                 conf_low = unname(coefs[, "Estimate"] - q * coefs[, "Std. Error"]),
                 conf_high = unname(coefs[, "Estimate"] + q * coefs[, "Std. Error"]),
                 p_z = unname(2 * pnorm(-abs(coefs[, "t value"]))),
                 conf_low_z = unname(wald[, 1]), conf_high_z = unname(wald[, 2])),
    vcov = list(term = colnames(V), matrix = unname(V)),
    varcorr = list(group = vc$grp, var1 = vc$var1, var2 = vc$var2, vcov = vc$vcov, sdcor = vc$sdcor),
    ranef = list(group = as.character(re$grpvar), term = as.character(re$term), level = as.character(re$grp),
                 estimate = re$condval, std_error = re$condsd),
    icc = unname(icc_value),
    r2_marginal = unname(r2_value$R2_marginal),
    r2_conditional = unname(r2_value$R2_conditional)
  )
}

# Likelihood-ratio comparisons as lme4's anova: refit = TRUE refits REML fits by ML first,
# refit = FALSE compares the likelihoods as fitted.
comparisons <- list(
  list(id = "exam_fixed", models = c("exam_null_reml", "exam_slope")),
  list(id = "exam_random_slope", models = c("exam_intercept", "exam_slope")),
  list(id = "exam_three", models = c("exam_null_ml", "exam_intercept_ml", "exam_slope_ml")),
  list(id = "sleep_correlation", models = c("sleep_uncorrelated", "sleep_slope")),
  list(id = "england_policy", models = c("england_null_ml", "england_policy"))
)
extra <- list(
  exam_intercept = list(data = "exam", formula = "normexam ~ standLRT + (1 | school)", reml = TRUE),
  exam_intercept_ml = list(data = "exam", formula = "normexam ~ standLRT + (1 | school)", reml = FALSE),
  england_null_ml = list(data = "england", formula = "log_att8 ~ 1 + (1 | LANAME)", reml = FALSE)
)
for (id in names(extra)) {
  spec <- extra[[id]]
  fits[[id]] <- lmer(as.formula(spec$formula), data = frames[[spec$data]], REML = spec$reml, control = control)
}
result$comparison_models <- lapply(extra, function(spec) spec)
result$comparisons <- list()
for (cmp in comparisons) {
  entry <- list(models = cmp$models)
  for (refit in c(TRUE, FALSE)) {
    a <- suppressMessages(do.call(anova, c(unname(fits[cmp$models]), list(refit = refit, model.names = cmp$models))))
    entry[[if (refit) "refit" else "no_refit"]] <- list(
      npar = unname(a$npar), AIC = unname(a$AIC), BIC = unname(a$BIC), loglik = unname(a$logLik),
      chisq = unname(a$Chisq), df = unname(a$Df), p_value = unname(a[["Pr(>Chisq)"]]))
  }
  result$comparisons[[cmp$id]] <- entry
}

dir.create(dirname(out_file), showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(result, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), out_file)
cat("wrote", length(result$models), "models to", out_file, "\n")
