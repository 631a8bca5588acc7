# Regenerate the real data sets in data/ from the R packages that ship them.
#
# Usage (from the repository root):  Rscript data/scripts/export_r_datasets.R
#
# Needs R with the packages mlmRev (Exam) and lme4 (sleepstudy, Penicillin,
# Pastes); on Debian: apt-get install r-cran-mlmrev r-cran-lme4.
# Factor levels are written to data/levels.json in R's order, so that the
# Python loader can rebuild the factors with the same reference categories.

suppressPackageStartupMessages({
  library(lme4)
  library(mlmRev)
  library(jsonlite)
})

out_dir <- "data"
export <- function(df, name) {
  path <- file.path(out_dir, paste0(name, ".csv"))
  # Fixed formatting: 15 significant digits, no row names, LF line endings.
  write.csv(df, path, row.names = FALSE, quote = TRUE, na = "")
  levels <- lapply(df[vapply(df, is.factor, logical(1))], levels)
  levels
}

data("Exam", package = "mlmRev")
data("sleepstudy", package = "lme4")
data("Penicillin", package = "lme4")
data("Pastes", package = "lme4")

levels <- list(
  exam = export(Exam, "exam"),
  sleepstudy = export(sleepstudy, "sleepstudy"),
  penicillin = export(Penicillin, "penicillin"),
  pastes = export(Pastes, "pastes")
)
writeLines(toJSON(levels, pretty = TRUE, auto_unbox = FALSE), file.path(out_dir, "levels.json"))
cat("wrote", paste0(names(levels), ".csv", collapse = ", "), "and levels.json to", out_dir, "\n")
