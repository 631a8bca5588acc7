# Reference parametric-bootstrap results from R, for the tests of lme_helpers' bootstrap:
# lme4's bootMer percentile interval for the ICC of the Exam null model, and pbkrtest's
# reference distribution (PBrefdist) for a bootstrap likelihood-ratio test of a random slope.
# Seeded, so reproducible; the tests compare lme_helpers (with its own random numbers) within
# Monte Carlo error. pbkrtest's PBmodcomp p-value counts only the simulated statistics above
# zero; the p-value over all of them is recorded too, and is the one lme_helpers reports.
#
# Usage (from the repository root):
#   Rscript tests/r/bootstrap_reference.R [output.json]

suppressPackageStartupMessages({
  library(lme4)
  library(pbkrtest)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
out_file <- if (length(args) >= 1 && nzchar(args[1])) args[1] else "tests/reference/bootstrap_reference.json"
data_dir <- Sys.getenv("LME_HELPERS_DATA", "data")

exam <- read.csv(file.path(data_dir, "exam.csv"))
exam$school <- factor(exam$school)
null <- lmer(normexam ~ 1 + (1 | school), data = exam)
icc_of <- function(m) {
  v <- as.data.frame(VarCorr(m))$vcov
  v[1] / sum(v)
}
nsim_icc <- 1000
boot <- bootMer(null, icc_of, nsim = nsim_icc, seed = 1)
icc_ci <- unname(quantile(boot$t[, 1], c(0.025, 0.975)))

weak <- read.csv("tests/fixtures/weak_variance.csv")
large <- lmer(y ~ x + (x || g), data = weak, REML = FALSE)
small <- lmer(y ~ x + (1 | g), data = weak, REML = FALSE)
nsim_pb <- 1000
ref <- suppressWarnings(PBrefdist(large, small, nsim = nsim_pb, seed = 1))
tobs <- 2 * (as.numeric(logLik(large)) - as.numeric(logLik(small)))
pb <- PBmodcomp(large, small, ref = ref)

result <- list(
  generated_by = "tests/r/bootstrap_reference.R",
  versions = list(lme4 = as.character(packageVersion("lme4")), pbkrtest = as.character(packageVersion("pbkrtest"))),
  icc = list(data = "exam", formula = "normexam ~ 1 + (1 | school)", nsim = nsim_icc,
             estimate = icc_of(null), conf_low = icc_ci[1], conf_high = icc_ci[2], sd = sd(boot$t[, 1])),
  pbmodcomp = list(data = "weak_variance", large = "y ~ x + (x || g)", small = "y ~ x + (1 | g)", nsim = nsim_pb,
                   statistic = tobs,
                   # the bootstrap p-value over all simulated statistics, zeros included
                   p_value = (1 + sum(ref >= tobs)) / (1 + length(ref)),
                   # PBmodcomp's own, which keeps only the simulated statistics above zero
                   p_pbmodcomp = pb$test["PBtest", "p.value"],
                   # refits on the boundary: a statistic of zero, up to the optimiser's noise
                   share_zero = mean(ref <= 1e-4),
                   p_chisq = pb$test["LRT", "p.value"])
)
dir.create(dirname(out_file), showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(result, digits = NA, auto_unbox = TRUE, pretty = TRUE), out_file)
cat("wrote", out_file, "\n")
