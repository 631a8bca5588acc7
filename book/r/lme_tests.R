# Tests the book teaches, for lme4 models. In a script: source("lme_tests.R")
#
# boundary_lrt(smaller, larger): the likelihood-ratio test of one added variance (with the
# covariances that come with it). Under the null hypothesis the variance is zero, on the edge
# of its possible values, so the statistic follows a 50:50 mixture of chi-squared
# distributions with df - 1 and df degrees of freedom (Self and Liang 1987; Stram and Lee
# 1994); the naive chi-squared p-value is too large. `smaller` may be an lm() fit.
boundary_lrt <- function(smaller, larger) {
  fixed_names <- function(m) if (inherits(m, "merMod")) names(lme4::fixef(m)) else names(coef(m))
  is_reml <- function(m) inherits(m, "merMod") && lme4::isREML(m)
  same_fixed <- setequal(fixed_names(smaller), fixed_names(larger))
  note <- ""
  if ((!same_fixed || !inherits(smaller, "merMod")) && (is_reml(smaller) || is_reml(larger))) {
    # An lm() log-likelihood is a maximum-likelihood one; different fixed effects need ML too.
    if (is_reml(smaller)) smaller <- update(smaller, REML = FALSE)
    if (is_reml(larger)) larger <- update(larger, REML = FALSE)
    note <- "REML fits were refitted by maximum likelihood."
  }
  ll0 <- logLik(smaller)
  ll1 <- logLik(larger)
  df <- attr(ll1, "df") - attr(ll0, "df")
  stat <- max(2 * (as.numeric(ll1) - as.numeric(ll0)), 0)
  p_naive <- pchisq(stat, df, lower.tail = FALSE)
  lower <- if (df > 1) pchisq(stat, df - 1, lower.tail = FALSE) else as.numeric(stat <= 0)
  p_boundary <- 0.5 * lower + 0.5 * pchisq(stat, df, lower.tail = FALSE)
  out <- data.frame(chisq = stat, df = df, p_naive = p_naive, p_boundary = p_boundary)
  cat("Likelihood-ratio test of the added variance", if (nzchar(note)) paste0("(", note, ")") else "", "\n")
  print(out, row.names = FALSE)
  invisible(out)
}
