# Reference fixtures for fangkong's aberration detection (EARS C1/C2/C3, CUSUM, GLR
# negative binomial / Poisson, Bayes) from R `surveillance` 1.20.3.
#
#   Rscript scripts/r/detect_fixtures.R [OUT_DIR]    (default tests/surveillance/fixtures)
#
# Writes one JSON file per method and data set: OUT_DIR/<method>/<dataset>.json with the
# series (counts, freq, start = R's c(year, period)) and a list of cases {name, params
# (fangkong's snake_case names), range (1-based, as R), upperbound (null where R gives
# NA), alarm (null where NA), extra}.
# CI does not have R: the files are committed, tests read them.
suppressPackageStartupMessages({
  library(surveillance)
  library(jsonlite)
})
stopifnot(packageVersion("surveillance") == "1.20.3")

args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args) >= 1) args[[1]] else "tests/surveillance/fixtures"

num <- function(x) { x <- as.numeric(x); x[is.nan(x)] <- NA; x }
lgl <- function(x) as.logical(x)

new_case <- function(name, params, range, upperbound, alarm, extra = NULL) {
  list(name = name, params = params, range = as.integer(range),
       upperbound = num(upperbound), alarm = lgl(alarm), extra = extra)
}

write_cases <- function(method, dataset, d, cases) {
  dir.create(file.path(out_dir, method), recursive = TRUE, showWarnings = FALSE)
  path <- file.path(out_dir, method, paste0(dataset, ".json"))
  txt <- toJSON(list(r_version = R.version.string,
                     surveillance = as.character(packageVersion("surveillance")),
                     method = method, dataset = dataset, counts = as.numeric(d$x),
                     freq = d$freq, start = d$start, cases = cases),
                auto_unbox = TRUE, digits = I(12), na = "null", null = "null", pretty = FALSE)
  writeLines(txt, path)
  cat(path, length(cases), "cases\n")
}

## ---------------------------------------------------------------- data sets
data(salmonella.agona); data(salmNewport); data(measlesDE); data(shadar); data(ha)
set.seed(20240601)
tt <- 1:312
synth_seasonal <- rpois(312, exp(1.5 + 0.6 * sin(2 * pi * tt / 52)))
synth_seasonal[250:254] <- synth_seasonal[250:254] + c(4, 9, 14, 9, 4)
synth_sparse <- rpois(312, 0.4)
synth_sparse[200:202] <- synth_sparse[200:202] + c(3, 5, 2)
synth_flat <- c(rep(3, 150), rep(3, 20), 9, rep(3, 20))   # zero sd windows
synth_daily <- rpois(730, 20 + 5 * (((1:730) %% 7) %in% c(1, 2)))
synth_daily[700:706] <- synth_daily[700:706] + 25

datasets <- list(
  salmonella_agona = list(x = salmonella.agona$observed, freq = 52, start = c(1990, 1)),
  salmnewport_total = list(x = rowSums(observed(salmNewport)), freq = 52, start = c(2004, 2)),
  salmnewport_bavaria = list(x = observed(salmNewport)[, "Bavaria"], freq = 52, start = c(2004, 2)),
  measlesde_nrw = list(x = observed(measlesDE)[, "North Rhine-Westphalia"], freq = 52,
                       start = c(2005, 1)),
  measlesde_bavaria = list(x = observed(measlesDE)[, "Bavaria"], freq = 52, start = c(2005, 1)),
  shadar = list(x = as.numeric(shadar$observed[, 1]), freq = 52, start = c(2001, 1)),
  ha_total = list(x = rowSums(ha$observed), freq = 52, start = c(2001, 1)),
  ha_frkr = list(x = ha$observed[, "frkr"], freq = 52, start = c(2001, 1)),
  synth_seasonal = list(x = synth_seasonal, freq = 52, start = c(2000, 1)),
  synth_sparse = list(x = synth_sparse, freq = 52, start = c(2000, 1)),
  synth_flat = list(x = synth_flat, freq = 52, start = c(2000, 1)),
  synth_daily = list(x = synth_daily, freq = 365, start = c(2020, 1))
)

as_sts <- function(d) sts(observed = matrix(d$x, ncol = 1), frequency = d$freq, start = d$start)
as_disprog <- function(d) {
  dp <- create.disProg(week = seq_along(d$x), observed = d$x, state = 0 * d$x,
                       freq = d$freq, start = d$start)
  dp
}

## ---------------------------------------------------------------- EARS
ears_sets <- list(
  list(method = "C1"), list(method = "C2"), list(method = "C3"),
  list(method = "C1", baseline = 10, alpha = 0.01),
  list(method = "C2", baseline = 5, min_sigma = 1),
  list(method = "C3", baseline = 12, alpha = 0.05, min_sigma = 0.5),
  list(method = "C3", baseline = 3)
)
ears_control <- function(p) {
  ctl <- list(method = p$method)
  if (!is.null(p$baseline)) ctl$baseline <- p$baseline
  if (!is.null(p$alpha)) ctl$alpha <- p$alpha
  if (!is.null(p$min_sigma)) ctl$minSigma <- p$min_sigma
  ctl
}
for (dn in names(datasets)) {
  d <- datasets[[dn]]
  cases <- list()
  for (i in seq_along(ears_sets)) {
    p <- ears_sets[[i]]
    res <- earsC(as_sts(d), control = ears_control(p))
    rng <- res@control$range
    cases[[length(cases) + 1]] <- new_case(
      paste0(tolower(p$method), "_", i), p, rng,
      upperbound(res)[, 1], alarms(res)[, 1])
  }
  # an explicit range (the last 20 periods)
  n <- length(d$x)
  p <- list(method = "C3", baseline = 7)
  res <- earsC(as_sts(d), control = list(method = "C3", range = (n - 19):n))
  cases[[length(cases) + 1]] <- new_case("c3_last20", p, (n - 19):n,
                                         upperbound(res)[, 1], alarms(res)[, 1])
  write_cases("ears", dn, d, cases)
}

## ---------------------------------------------------------------- CUSUM
cusum_sets <- list(
  list(),
  list(k = 0.5, h = 4),
  list(trans = "rossi"),
  list(trans = "anscombe"),
  list(trans = "anscombe2nd", k = 0.8, h = 3),
  list(trans = "pearsonNegBin", alpha = 0.3),
  list(trans = "none", k = 3, h = 10),
  list(m = "glm"),
  list(m = "glm", trans = "rossi"),
  list(m = 4.5, trans = "standard")
)
for (dn in names(datasets)) {
  d <- datasets[[dn]]
  n <- length(d$x)
  rng <- (n - 103):n
  if (dn == "synth_flat") rng <- 160:n
  if (dn == "synth_daily") rng <- 366:n
  cases <- list()
  for (i in seq_along(cusum_sets)) {
    p <- cusum_sets[[i]]
    ctl <- c(list(range = rng), p)
    res <- algo.cusum(as_disprog(d), control = ctl)
    cases[[length(cases) + 1]] <- new_case(
      paste0("cusum_", i), p, rng, res$upperbound, res$alarm,
      extra = list(m = num(res$control$m), cusum = num(res$cusum)))
  }
  write_cases("cusum", dn, d, cases)
}

## ---------------------------------------------------------------- Bayes
bayes_sets <- list(
  list(preset = "bayes1", b = 0, w = 6, act_y = TRUE, alpha = 0.05),
  list(preset = "bayes2", b = 1, w = 6, act_y = TRUE, alpha = 0.05),
  list(preset = "bayes3", b = 2, w = 4, act_y = FALSE, alpha = 0.05),
  list(b = 1, w = 3, act_y = FALSE, alpha = 0.01),
  list(b = 0, w = 12, act_y = TRUE, alpha = 0.2)
)
for (dn in names(datasets)) {
  d <- datasets[[dn]]
  n <- length(d$x)
  cases <- list()
  for (i in seq_along(bayes_sets)) {
    p <- bayes_sets[[i]]
    first <- p$b * d$freq + p$w + 1
    if (first > n - 10) next
    rng <- max(first, n - 155):n
    ctl <- list(range = rng, b = p$b, w = p$w, actY = p$act_y, alpha = p$alpha)
    res <- if (!is.null(p$preset)) {
      do.call(paste0("algo.", p$preset), list(as_disprog(d), control = list(range = rng)))
    } else {
      algo.bayes(as_disprog(d), control = ctl)
    }
    p$preset <- NULL
    cases[[length(cases) + 1]] <- new_case(paste0("bayes_", i), p, rng,
                                           res$upperbound, res$alarm)
  }
  write_cases("bayes", dn, d, cases)
}

## ---------------------------------------------------------------- GLR (NB and Poisson)
glr_sets <- list(
  list(alpha = 0),
  list(alpha = 0, mu0_s = 2, mu0_trend = TRUE),
  list(alpha = 0, c_arl = 3, ret = "cases"),
  list(alpha = 0, m = 20, m_tilde = 1),
  list(alpha = 0, dir = "dec", c_arl = 3),
  list(),                                   # glm.nb estimates alpha
  list(alpha = 0.2, c_arl = 4),
  list(alpha = 0.1, m = 26, dir = "dec"),
  list(alpha = 0, theta = log(2)),
  list(alpha = 0.2, theta = log(1.5), ret = "cases"),
  list(alpha = 0.3, c_arl = 3, ret = "cases")
)
glr_control <- function(p, rng) {
  ctl <- list(range = rng, mu0 = list(S = 1, trend = FALSE, refit = FALSE))
  if (!is.null(p$alpha)) ctl$alpha <- p$alpha
  if (!is.null(p$mu0_s)) ctl$mu0$S <- p$mu0_s
  if (!is.null(p$mu0_trend)) ctl$mu0$trend <- p$mu0_trend
  if (!is.null(p$c_arl)) ctl$c.ARL <- p$c_arl
  if (!is.null(p$ret)) ctl$ret <- p$ret
  if (!is.null(p$m)) ctl$M <- p$m
  if (!is.null(p$m_tilde)) ctl$Mtilde <- p$m_tilde
  if (!is.null(p$dir)) ctl$dir <- p$dir
  if (!is.null(p$theta)) ctl$theta <- p$theta
  ctl
}
glr_sets_for <- c("salmonella_agona", "salmnewport_total", "measlesde_nrw", "shadar",
                  "ha_total", "synth_seasonal", "synth_sparse")
for (dn in glr_sets_for) {
  d <- datasets[[dn]]
  n <- length(d$x)
  rng <- (n - 103):n
  cases <- list()
  for (i in seq_along(glr_sets)) {
    p <- glr_sets[[i]]
    res <- tryCatch(
      suppressMessages(suppressWarnings(algo.glrnb(as_disprog(d), control = glr_control(p, rng)))),
      error = function(e) NULL)
    if (is.null(res)) { cat("skip", dn, i, "\n"); next }
    cases[[length(cases) + 1]] <- new_case(
      paste0("glrnb_", i), p, rng, res$upperbound, res$alarm,
      extra = list(mu0 = num(res$control$mu0), alpha = num(res$control$alpha)))
  }
  write_cases("glrnb", dn, d, cases)
}
