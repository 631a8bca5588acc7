# Chapter 3: three-level null models of England's 2022/23 key stage 4 results, schools in
# local authorities in regions (lme4, lmerTest).
# Run in RStudio from this folder (or from the unzipped download), or: Rscript ks4_three_level.R [data.csv] [results.json]
suppressPackageStartupMessages(library(lmerTest))  # lme4, plus t-tests with Satterthwaite df
args <- commandArgs(trailingOnly = TRUE)
# Data: england_ks4_2022_23.csv (the first argument, else in the folder $DATA_DIR, else here, else ../../data)
data_dir <- Sys.getenv("DATA_DIR", if (file.exists("england_ks4_2022_23.csv")) "." else "../../data")
data_file <- if (length(args) >= 1 && nzchar(args[1])) args[1] else file.path(data_dir, "england_ks4_2022_23.csv")
# The DfE marks suppressed and missing values with codes; read them as missing
ks4 <- read.csv(data_file, na.strings = c("NA", "SUPP", "NE", "NP", "LOWCOV", "NEW", ""))
ks4 <- ks4[!is.na(ks4$P8MEA), ]  # schools without a Progress 8 score
cat(nrow(ks4), "schools in", length(unique(ks4$LANAME)), "local authorities in",
    length(unique(ks4$gor_name)), "regions\n\n")

att8 <- lmer(ATT8SCR ~ 1 + (1 | gor_name/LANAME), data = ks4)
p8 <- lmer(P8MEA ~ 1 + (1 | gor_name/LANAME), data = ks4)

# The two intraclass correlations of a three-level model
correlations <- function(fit) {
  vc <- as.data.frame(VarCorr(fit))
  region <- vc$vcov[vc$grp == "gor_name"]
  la <- vc$vcov[vc$grp == "LANAME:gor_name"]
  total <- sum(vc$vcov)
  c(same_authority = (region + la) / total, same_region_other_authority = region / total)
}
print(VarCorr(att8), comp = "Variance")
print(correlations(att8))
cat("\n")
print(VarCorr(p8), comp = "Variance")
print(correlations(p8))

if (length(args) >= 2) {
  source("export_results.R")
  export_results(list(att8 = att8, p8 = p8), args[2])
}
