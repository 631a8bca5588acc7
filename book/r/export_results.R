# Write the estimates of fitted lme4 models to a JSON file, for the book's
# Python-versus-R comparison tables. Used by the other scripts in this folder:
#   source("export_results.R"); export_results(list(null = m), "results.json")
# The t-tests (Satterthwaite df and p-values) are lmerTest's.
export_results <- function(models, path) {
  one <- function(fit) {
    if (!inherits(fit, "lmerModLmerTest")) fit <- lmerTest::as_lmerModLmerTest(fit)
    coefs <- summary(fit)$coefficients
    vc <- as.data.frame(lme4::VarCorr(fit))
    vc$var1[is.na(vc$var1)] <- ""
    vc$var2[is.na(vc$var2)] <- ""
    list(
      fixef = list(term = I(rownames(coefs)), estimate = I(unname(coefs[, "Estimate"])),
                   std_error = I(unname(coefs[, "Std. Error"])), df = I(unname(coefs[, "df"])),
                   p_value = I(unname(coefs[, "Pr(>|t|)"]))),
      varcorr = list(group = I(vc$grp), var1 = I(vc$var1), var2 = I(vc$var2), vcov = I(vc$vcov)),
      loglik = as.numeric(logLik(fit)),
      reml = lme4::isREML(fit)
    )
  }
  jsonlite::write_json(lapply(models, one), path, digits = NA, auto_unbox = TRUE)
}
