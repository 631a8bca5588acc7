# Reference inference from R for the tests: lmerTest's Satterthwaite t- and F-tests, lme4's
# profile confidence intervals and isSingular, pbkrtest's Kenward-Roger df (where installed).
#
# Usage (from the repository root):
#   Rscript tests/r/inference_reference.R [output.json]
# Default output: tests/reference/inference_reference.json. The tests compare lme_helpers with
# this file, and re-run the script live when R is present.

suppressPackageStartupMessages({
  library(lmerTest)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
out_file <- if (length(args) >= 1 && nzchar(args[1])) args[1] else "tests/reference/inference_reference.json"
data_dir <- Sys.getenv("LME_HELPERS_DATA", "data")
have_kr <- requireNamespace("pbkrtest", quietly = TRUE)

read_data <- function(name, factors) {
  d <- read.csv(file.path(data_dir, paste0(name, ".csv")), stringsAsFactors = FALSE)
  levels <- fromJSON(file.path(data_dir, "levels.json"))[[name]]
  for (f in factors) {
    lv <- if (!is.null(levels[[f]])) as.character(levels[[f]]) else sort(unique(as.character(d[[f]])))
    d[[f]] <- factor(as.character(d[[f]]), levels = lv)
  }
  d
}

frames <- list(
  exam = read_data("exam", c("school", "schgend", "sex", "type", "vr", "intake")),
  sleep = read_data("sleepstudy", c("Subject")),
  penicillin = read_data("penicillin", c("plate", "sample")),
  pastes = read_data("pastes", c("batch", "cask", "sample")),
  rank_deficient = read.csv("tests/fixtures/rank_deficient.csv"),
  zero_variance = read.csv("tests/fixtures/zero_variance.csv")
)

# Penicillin with a made-up factor whose levels mostly stand for whole samples (six of them): five
# of its contrasts rest on one sample-level degree of freedom and one varies within a sample, so
# the F-test's per-contrast df differ and some are below 2 (lmerTest then uses 2 for the term)
mix <- c(A = "a", B = "a", C = "k", D = "d", E = "b", F = "c")[as.character(frames$penicillin$sample)]
mix[frames$penicillin$sample == "A" & frames$penicillin$plate %in% letters[1:12]] <- "w"
frames$penicillin_mix <- transform(frames$penicillin, mix = factor(unname(mix)))

ks4_file <- file.path(data_dir, "england_ks4_2022_23.csv")
if (file.exists(ks4_file)) {
  ks4 <- read.csv(ks4_file, stringsAsFactors = FALSE, na.strings = c("NA", "SUPP", "NE", "NP", "LOWCOV", "NEW", ""))
  ks4 <- ks4[!is.na(ks4$P8MEA), ]
  ks4$london <- as.numeric(ks4$gor_name == "London")
  ks4$disadv <- (ks4$PTFSM6CLA1A - 25) / 10  # as in the practical
  ks4$MINORGROUP <- factor(ks4$MINORGROUP, levels = c("Academy", "Maintained school"))
  frames$ks4 <- ks4
}
# The synthetic England schools, as the tests load them (schools with an Attainment 8 score);
# an empty inspection rating is missing
england <- read.csv(file.path(data_dir, "england_schools_synthetic.csv"), stringsAsFactors = FALSE,
                    na.strings = c("NA", ""))
frames$england <- england[!is.na(england$ATT8SCR), ]

models <- list(
  list(id = "sleep_slope", data = "sleep", formula = "Reaction ~ Days + (Days | Subject)", reml = TRUE),
  list(id = "sleep_slope_ml", data = "sleep", formula = "Reaction ~ Days + (Days | Subject)", reml = FALSE),
  list(id = "sleep_uncorrelated", data = "sleep", formula = "Reaction ~ Days + (Days || Subject)", reml = TRUE),
  list(id = "exam_cross_level", data = "exam",
       formula = "normexam ~ standLRT * schavg + (standLRT | school)", reml = TRUE),
  list(id = "exam_factors", data = "exam", formula = "normexam ~ standLRT + sex + schgend + (1 | school)", reml = TRUE),
  list(id = "exam_factor_interaction", data = "exam",
       formula = "normexam ~ standLRT * schgend + (1 | school)", reml = TRUE),
  list(id = "exam_null", data = "exam", formula = "normexam ~ 1 + (1 | school)", reml = TRUE),
  list(id = "penicillin_crossed", data = "penicillin", formula = "diameter ~ 1 + (1 | plate) + (1 | sample)", reml = TRUE),
  list(id = "pastes_nested", data = "pastes", formula = "strength ~ 1 + (1 | batch/cask)", reml = TRUE),
  list(id = "rank_deficient", data = "rank_deficient", formula = "y ~ x1 + x2 + (x1 + x2 | g)", reml = TRUE,
       profile = FALSE),
  list(id = "zero_variance", data = "zero_variance", formula = "y ~ x + (1 | g)", reml = TRUE),
  # type III tests without an intercept: a factor's test is then that every level's mean is zero
  list(id = "exam_no_intercept", data = "exam", formula = "normexam ~ 0 + sex + standLRT + (1 | school)",
       reml = TRUE, profile = FALSE, kr = FALSE),
  list(id = "penicillin_mixed_levels", data = "penicillin_mix", formula = "diameter ~ mix + (1 | plate) + (1 | sample)",
       reml = TRUE, profile = FALSE, kr = FALSE),
  # Chapter 2: a variance estimated from five groups, and its profile interval
  list(id = "england_rating", data = "england", formula = "P8MEA ~ 1 + (1 | OFSTEDRATING)", reml = TRUE)
)
if (!is.null(frames$ks4)) {
  models <- c(models, list(
    list(id = "ks4_null", data = "ks4", formula = "P8MEA ~ 1 + (1 | LANAME)", reml = TRUE),
    list(id = "ks4_london", data = "ks4", formula = "P8MEA ~ london + (1 | gor_name/LANAME)", reml = TRUE),
    list(id = "ks4_disadvantage", data = "ks4", formula = "P8MEA ~ PTFSM6CLA1A + (1 | LANAME)", reml = TRUE),
    # Chapter 3: the three-level null model and the profile intervals of its variances
    list(id = "ks4_three_level", data = "ks4", formula = "ATT8SCR ~ 1 + (1 | gor_name/LANAME)", reml = TRUE),
    # the practical's random-slope and policy models (profiles and Kenward-Roger skipped: slow at this size)
    list(id = "ks4_slope", data = "ks4", formula = "P8MEA ~ disadv + (disadv | LANAME)", reml = TRUE,
         profile = FALSE, kr = FALSE),
    list(id = "ks4_academy", data = "ks4", formula = "P8MEA ~ disadv + MINORGROUP + (disadv | LANAME)", reml = TRUE,
         profile = FALSE, kr = FALSE)
  ))
}

# Tight optimiser tolerances: the reference is the optimum itself, not a point within the
# default tolerance of it.
control <- lmerControl(optCtrl = list(ftol_abs = 1e-12, ftol_rel = 1e-12, xtol_abs = 1e-10, xtol_rel = 1e-10))

result <- list(
  generated_by = "tests/r/inference_reference.R",
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  lme4 = as.character(packageVersion("lme4")),
                  lmerTest = as.character(packageVersion("lmerTest")),
                  pbkrtest = if (have_kr) as.character(packageVersion("pbkrtest")) else NA),
  models = list()
)

for (spec in models) {
  fit <- suppressMessages(lmer(as.formula(spec$formula), data = frames[[spec$data]], REML = spec$reml,
                               control = control))
  coefs <- summary(fit)$coefficients
  entry <- list(
    data = spec$data, formula = spec$formula, reml = spec$reml, nobs = nobs(fit),
    loglik = as.numeric(logLik(fit)),
    singular = isSingular(fit),
    theta = unname(getME(fit, "theta")),
    coef = list(term = rownames(coefs), estimate = unname(coefs[, "Estimate"]),
                std_error = unname(coefs[, "Std. Error"]), df = unname(coefs[, "df"]),
                statistic = unname(coefs[, "t value"]), p_value = unname(coefs[, "Pr(>|t|)"]))
  )
  a <- anova(fit)
  if (nrow(a) > 0) {
    entry$anova <- list(term = rownames(a), num_df = unname(a[, "NumDF"]), den_df = unname(a[, "DenDF"]),
                        F = unname(a[, "F value"]), p_value = unname(a[, "Pr(>F)"]))
  }
  if (have_kr && spec$reml && !identical(spec$kr, FALSE)) {
    kr <- summary(fit, ddf = "Kenward-Roger")$coefficients
    entry$kenward_roger <- list(term = rownames(kr), std_error = unname(kr[, "Std. Error"]),
                                df = unname(kr[, "df"]), p_value = unname(kr[, "Pr(>|t|)"]))
  }
  if (!identical(spec$profile, FALSE)) {
    ci <- suppressMessages(suppressWarnings(confint(fit, method = "profile", oldNames = FALSE)))
    entry$profile <- list(parameter = rownames(ci), conf_low = unname(ci[, 1]), conf_high = unname(ci[, 2]))
  }
  result$models[[spec$id]] <- entry
}

dir.create(dirname(out_file), showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(result, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), out_file)
cat("wrote", length(result$models), "models to", out_file, "\n")
