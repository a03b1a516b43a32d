# Reference results of R surveillance's Farrington methods for fangkong's tests.
#
# Runs farrington() (algo.farrington, Farrington et al. 1996) and farringtonFlexible()
# (Noufaily et al. 2013 options) on datasets R ships and on synthetic series, with several
# parameter sets, and writes tests/surveillance/fixtures/farrington/{series,cases}.json:
# the input series (so the tests need no R) and, per case, R's upperbound, alarm,
# expected, trend and phi over the evaluated range (NA as null).
#
# Usage (from the repository root, R with surveillance 1.20.3 and jsonlite):
#   Rscript scripts/r/farrington_fixtures.R [OUTDIR]
suppressPackageStartupMessages({
  library(surveillance)
  library(jsonlite)
})
stopifnot(as.character(packageVersion("surveillance")) == "1.20.3")
args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args) >= 1) args[1] else "tests/surveillance/fixtures/farrington"
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)

series <- list()
add_series <- function(name, counts, freq = 52, dates = NULL, population = NULL) {
  series[[name]] <<- list(
    counts = as.numeric(counts), freq = freq,
    dates = if (is.null(dates)) NULL else format(dates, "%Y-%m-%d"),
    population = if (is.null(population)) NULL else as.numeric(population)
  )
}

# --- datasets shipped with surveillance ---------------------------------------------------------
data("salmonella.agona")
add_series("salmonella.agona", salmonella.agona$observed)
data("shadar")
add_series("shadar", shadar$observed[, 1])
data("salmNewport") # weekly, epochAsDate = TRUE: exercises R's calendar logic
add_series("salmNewport", rowSums(observed(salmNewport)), dates = epoch(salmNewport))
add_series("salmNewport.Bavaria", observed(salmNewport)[, "Bavaria"], dates = epoch(salmNewport))
add_series("salmNewport.Saarland", observed(salmNewport)[, "Saarland"], dates = epoch(salmNewport))
data("measlesDE")
add_series("measlesDE", rowSums(observed(measlesDE)))
add_series("measlesDE.NRW", observed(measlesDE)[, "North Rhine-Westphalia"])

# --- synthetic series ---------------------------------------------------------------------------
set.seed(20261130)
weeks <- 1:364
season <- exp(1.6 + 0.6 * sin(2 * pi * weeks / 52) + 0.002 * weeks)
nb <- rnbinom(length(weeks), mu = season, size = 4)
nb[c(300, 301, 302, 340)] <- nb[c(300, 301, 302, 340)] + c(15, 25, 18, 30)
add_series("synthetic.nb", nb)
pop <- round(100000 * exp(0.003 * weeks))
add_series("synthetic.pop", rpois(length(weeks), season * pop / 1e5), population = pop)
sparse <- rpois(length(weeks), 0.3)
sparse[c(320, 330)] <- c(6, 9)
add_series("synthetic.sparse", sparse)
add_series("synthetic.zero", c(rep(0, 340), 3, 0, 0, 0, 5, 0, 0, 0, rep(0, 16)))
dated <- seq(as.Date("2012-01-02"), by = "1 week", length.out = 364) # spans 53-week years
add_series("synthetic.dated", rnbinom(364, mu = season, size = 2), dates = dated)
trend_up <- rpois(length(weeks), exp(0.5 + 0.008 * weeks))
add_series("synthetic.trend", trend_up)
monthly <- rpois(96, exp(2 + 0.5 * cos(2 * pi * (1:96) / 12)))
add_series("synthetic.monthly", monthly, freq = 12)

make_sts <- function(s) {
  obs <- matrix(s$counts, ncol = 1)
  pop <- if (is.null(s$population)) NULL else matrix(s$population, ncol = 1)
  if (is.null(s$dates)) {
    if (is.null(pop)) sts(observed = obs, freq = s$freq, start = c(2000, 1))
    else sts(observed = obs, freq = s$freq, start = c(2000, 1), population = pop)
  } else {
    sts(observed = obs, freq = s$freq, epoch = as.Date(s$dates), epochAsDate = TRUE)
  }
}

cases <- list()
num_or_null <- function(x) ifelse(is.na(x), NA, as.numeric(x))
run_case <- function(method, sname, control, default_range = FALSE) {
  s <- series[[sname]]
  st <- make_sts(s)
  id <- sprintf("%03d-%s-%s", length(cases) + 1, method, sname)
  res <- tryCatch(suppressWarnings({
    if (method == "farrington") {
      out <- farrington(st, control = control)
      list(
        upperbound = as.numeric(upperbound(out)), alarm = as.logical(alarms(out)),
        expected = NULL, trend = NULL, phi = NULL
      )
    } else {
      out <- farringtonFlexible(st, control = control)
      list(
        upperbound = as.numeric(upperbound(out)), alarm = as.logical(alarms(out)),
        expected = as.numeric(out@control$expected), trend = as.numeric(out@control$trend),
        phi = as.numeric(out@control$phiVector)
      )
    }
  }), error = function(e) list(error = conditionMessage(e)))
  rng <- control$range
  if (is.null(rng)) { # R's default range
    b <- if (is.null(control$b)) 5 else control$b
    w <- if (is.null(control$w)) 3 else control$w
    n <- length(s$counts)
    rng <- if (method == "farrington") (s$freq * b - w):n else (s$freq * b + w + 1):n
  }
  cases[[length(cases) + 1]] <<- c(
    list(id = id, method = method, series = sname,
         control = control[names(control) != "range"],
         start = min(rng), end = max(rng), default_range = default_range),
    res
  )
}

noufaily <- list(noPeriods = 10, b = 4, w = 3, weightsThreshold = 2.58,
                 pastWeeksNotIncluded = 26, pThresholdTrend = 1, trend = TRUE,
                 thresholdMethod = "nbPlugin", alpha = 0.05)
with_range <- function(ctrl, rng) c(list(range = rng), ctrl)
last <- function(name, k) { n <- length(series[[name]]$counts); (n - k + 1):n }

# farringtonFlexible -----------------------------------------------------------------------------
flex_sets <- list(
  default = list(),
  noufaily_nb = noufaily,
  noufaily_muan = modifyList(noufaily, list(thresholdMethod = "muan")),
  noufaily_delta = modifyList(noufaily, list(thresholdMethod = "delta")),
  example1 = list(noPeriods = 1, b = 4, w = 3, weightsThreshold = 1, pastWeeksNotIncluded = 3,
                  pThresholdTrend = 0.05, alpha = 0.1),
  plain = list(reweight = FALSE, trend = FALSE),
  sqrt_notrend = list(powertrans = "1/2", trend = FALSE, b = 3),
  none_pw26 = list(powertrans = "none", pastWeeksNotIncluded = 26, b = 4, w = 2),
  limits = list(limit54 = c(0, 1), alpha = 0.01, b = 3, w = 1),
  limits10 = list(limit54 = c(10, 2), thresholdMethod = "muan", b = 4, noPeriods = 5)
)
week_series <- c("salmonella.agona", "shadar", "salmNewport", "salmNewport.Bavaria",
                 "salmNewport.Saarland", "synthetic.nb", "synthetic.sparse", "synthetic.zero",
                 "synthetic.dated", "synthetic.trend")
for (sname in week_series) {
  for (set in names(flex_sets)) {
    ctrl <- flex_sets[[set]]
    b <- if (is.null(ctrl$b)) 5 else ctrl$b
    n <- length(series[[sname]]$counts)
    k <- min(60, n - 52 * b - 30)
    run_case("farringtonFlexible", sname, with_range(ctrl, last(sname, k)))
  }
}
for (set in c("default", "noufaily_nb", "plain")) {
  ctrl <- modifyList(flex_sets[[set]], list(b = 2, noPeriods = if (set == "noufaily_nb") 4 else 1))
  run_case("farringtonFlexible", "measlesDE", with_range(ctrl, 110:156))
  run_case("farringtonFlexible", "measlesDE.NRW", with_range(ctrl, 110:156))
}
run_case("farringtonFlexible", "synthetic.pop",
         with_range(list(populationOffset = TRUE), last("synthetic.pop", 60)))
run_case("farringtonFlexible", "synthetic.pop",
         with_range(modifyList(noufaily, list(populationOffset = TRUE)), last("synthetic.pop", 60)))
run_case("farringtonFlexible", "synthetic.monthly",
         with_range(list(b = 3, w = 2), 40:96))
run_case("farringtonFlexible", "synthetic.monthly",
         with_range(list(b = 4, w = 1, noPeriods = 3, pastWeeksNotIncluded = 4), 50:96))
run_case("farringtonFlexible", "salmonella.agona", list(b = 4), default_range = TRUE)
run_case("farringtonFlexible", "salmonella.agona", with_range(modifyList(flex_sets$example1, list(trend = FALSE)), 282:312))
run_case("farringtonFlexible", "salmonella.agona", with_range(modifyList(noufaily, list(alpha = 0.1)), 282:312))

# farrington (1996) -------------------------------------------------------------------------------
far_sets <- list(
  default = list(),
  noreweight = list(reweight = FALSE),
  notrend = list(trend = FALSE),
  none = list(powertrans = "none", alpha = 0.01),
  sqrt = list(powertrans = "1/2", b = 3, w = 2),
  short = list(b = 2, w = 1, limit54 = c(3, 2)),
  slow = list(fitFun = "algo.farrington.fitGLM", alpha = 0.1)
)
for (sname in c(week_series, "measlesDE", "measlesDE.NRW")) {
  for (set in names(far_sets)) {
    ctrl <- far_sets[[set]]
    b <- if (is.null(ctrl$b)) 5 else ctrl$b
    n <- length(series[[sname]]$counts)
    if (n - 52 * b < 10) ctrl$b <- b <- 2
    k <- min(60, n - 52 * b - 10)
    run_case("farrington", sname, with_range(ctrl, last(sname, k)))
  }
}
run_case("farrington", "synthetic.pop",
         with_range(list(fitFun = "algo.farrington.fitGLM.populationOffset"), last("synthetic.pop", 60)))
run_case("farrington", "synthetic.monthly", with_range(list(b = 3, w = 2), 40:96))
# R's default range (the sts wrapper needs it spelled out)
run_case("farrington", "salmonella.agona", list(range = 257:312), default_range = TRUE)
run_case("farrington", "shadar", with_range(list(b = 3, w = 3), 157:295)) # early reference values missing

write(toJSON(series, auto_unbox = TRUE, null = "null", digits = NA),
      file.path(outdir, "series.json"))
write(toJSON(cases, auto_unbox = TRUE, null = "null", na = "null", digits = NA, pretty = FALSE),
      file.path(outdir, "cases.json"))
cat(length(series), "series,", length(cases), "cases,",
    sum(vapply(cases, function(c) !is.null(c$error), TRUE)), "R errors\n")
