# Reference results of R EpiEstim 2.2-4 for fangkong's reproduction number (fangkong.surveillance.rt).
#
# Run from the repository root:   Rscript scripts/r/epiestim_fixtures.R
# Needs R with EpiEstim 2.2-4 (Debian/Ubuntu: apt-get install r-cran-epiestim).
# Writes tests/surveillance/fixtures/epiestim/:
#   cases.csv                one row per case: inputs and parameters (NA = not given)
#   <case>.incidence.csv     day,local[,imported][,date]   (the input exactly as given to R)
#   <case>.si_distr.csv      k,w  (a given non-parametric serial interval, when there is one)
#   <case>.expected.csv      EpiEstim's $R table: t_start,t_end,mean,std,q025,...,q975
#   <case>.si_used.csv       k,w  EpiEstim's $si_distr (the interval it used, padded)
#   discr_si.csv             mu,sigma,k,w   EpiEstim::discr_si on a grid
# CI has no R: the written files are committed and read by tests/surveillance/test_rt_epiestim.py.

suppressPackageStartupMessages(library(EpiEstim))
stopifnot(as.character(packageVersion("EpiEstim")) == "2.2.4")

out_dir <- file.path("tests", "surveillance", "fixtures", "epiestim")
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)

num <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))

write_table <- function(df, name) {
  for (col in names(df)) if (is.double(df[[col]])) df[[col]] <- num(df[[col]])
  write.csv(df, file.path(out_dir, name), row.names = FALSE, quote = FALSE, na = "")
}

cases <- list()

run_case <- function(name, local, imported = NULL, dates = NULL, method, si_mean = NA,
                     si_sd = NA, si_distr = NULL, window = NA, t_start = NULL, t_end = NULL,
                     mean_prior = 5, std_prior = 5, cv_posterior = 0.3) {
  n <- length(local)
  if (is.null(imported)) {
    incid <- local
    inc_df <- data.frame(day = seq_len(n), local = local)
  } else {
    incid <- data.frame(local = local, imported = imported)
    inc_df <- data.frame(day = seq_len(n), local = local, imported = imported)
  }
  if (!is.null(dates)) inc_df$date <- format(dates, "%Y-%m-%d")
  cfg <- list(mean_prior = mean_prior, std_prior = std_prior, cv_posterior = cv_posterior)
  if (!is.na(window)) {
    t_start <- seq(2, n - window + 1)
    t_end <- t_start + window - 1
  }
  windows <- "default"
  if (!is.null(t_start)) {
    cfg$t_start <- t_start
    cfg$t_end <- t_end
    windows <- if (is.na(window)) "given" else paste0("window_", window)
  }
  if (method == "parametric_si") {
    cfg$mean_si <- si_mean
    cfg$std_si <- si_sd
  } else {
    cfg$si_distr <- si_distr
  }
  res <- suppressMessages(suppressWarnings(
    estimate_R(incid, method = method, config = do.call(make_config, cfg))
  ))
  r <- res$R
  expected <- data.frame(
    t_start = as.integer(r$t_start), t_end = as.integer(r$t_end),
    mean = r[["Mean(R)"]], std = r[["Std(R)"]],
    q025 = r[["Quantile.0.025(R)"]], q05 = r[["Quantile.0.05(R)"]],
    q25 = r[["Quantile.0.25(R)"]], median = r[["Median(R)"]],
    q75 = r[["Quantile.0.75(R)"]], q95 = r[["Quantile.0.95(R)"]],
    q975 = r[["Quantile.0.975(R)"]]
  )
  write_table(inc_df, paste0(name, ".incidence.csv"))
  write_table(expected, paste0(name, ".expected.csv"))
  used <- as.numeric(res$si_distr)
  write_table(data.frame(k = seq_along(used) - 1L, w = used), paste0(name, ".si_used.csv"))
  has_si <- !is.null(si_distr)
  if (has_si) {
    write_table(data.frame(k = seq_along(si_distr) - 1L, w = si_distr),
                paste0(name, ".si_distr.csv"))
  }
  has_given <- windows == "given"
  if (has_given) {
    write_table(data.frame(t_start = as.integer(t_start), t_end = as.integer(t_end)),
                paste0(name, ".windows.csv"))
  }
  cases[[length(cases) + 1]] <<- data.frame(
    case = name, method = method, si_mean = si_mean, si_sd = si_sd,
    windows = windows, window = window, mean_prior = mean_prior, std_prior = std_prior,
    cv_posterior = cv_posterior, imported = !is.null(imported), si_distr = has_si,
    stringsAsFactors = FALSE
  )
}

data(Flu2009)
data(Measles1861)
data(SARS2003)
data(MockRotavirus)
data(Smallpox1972)
data(Flu1918)
data(mers_2014_15)
data(flu_2009_NYC_school)

flu <- Flu2009$incidence
run_case("flu2009_np", flu$I, dates = flu$dates, method = "non_parametric_si",
         si_distr = Flu2009$si_distr)
run_case("flu2009_par", flu$I, dates = flu$dates, method = "parametric_si",
         si_mean = 2.6, si_sd = 1.5)
run_case("flu2009_par_w14", flu$I, dates = flu$dates, method = "parametric_si",
         si_mean = 2.6, si_sd = 1.5, window = 14)
run_case("flu2009_np_w3_prior", flu$I, dates = flu$dates, method = "non_parametric_si",
         si_distr = Flu2009$si_distr, window = 3, mean_prior = 2, std_prior = 1)
run_case("flu2009_par_weeks", flu$I, dates = flu$dates, method = "parametric_si",
         si_mean = 3.2, si_sd = 2.1, t_start = seq(2, 26, by = 7), t_end = seq(8, 32, by = 7))
run_case("measles1861_np", Measles1861$incidence, method = "non_parametric_si",
         si_distr = Measles1861$si_distr)
run_case("measles1861_par", Measles1861$incidence, method = "parametric_si",
         si_mean = 12, si_sd = 3.5)
run_case("measles1861_par_w10", Measles1861$incidence, method = "parametric_si",
         si_mean = 11.6, si_sd = 2.4, window = 10, cv_posterior = 0.1)
run_case("sars2003_np", SARS2003$incidence, method = "non_parametric_si",
         si_distr = SARS2003$si_distr)
run_case("sars2003_par_w21", SARS2003$incidence, method = "parametric_si",
         si_mean = 8.4, si_sd = 3.8, window = 21)
run_case("mockrotavirus_par", MockRotavirus$incidence, method = "parametric_si",
         si_mean = 6.5, si_sd = 1.6)
run_case("smallpox1972_np", Smallpox1972$incidence, method = "non_parametric_si",
         si_distr = Smallpox1972$si_distr)
run_case("flu1918_np", Flu1918$incidence, method = "non_parametric_si",
         si_distr = Flu1918$si_distr)
run_case("flu1918_par", Flu1918$incidence, method = "parametric_si", si_mean = 2.6, si_sd = 1.5)
run_case("flu2009nyc_par", flu_2009_NYC_school$incidence$I, method = "parametric_si",
         si_mean = 2.6, si_sd = 1.5, dates = flu_2009_NYC_school$incidence$dates)

mers <- mers_2014_15$incidence
run_case("mers2014_par", mers$local, imported = mers$imported, dates = mers[[1]],
         method = "parametric_si", si_mean = mers_2014_15$si$mean_si,
         si_sd = mers_2014_15$si$std_si)
run_case("mers2014_par_w28", mers$local, imported = mers$imported, dates = mers[[1]],
         method = "parametric_si", si_mean = 6.8, si_sd = 4.1, window = 28,
         mean_prior = 1, std_prior = 2)

# Synthetic local + imported series: an imported seed, a local wave, later importations.
set.seed(20130901)
n <- 60
imported <- rpois(n, 0.6)
imported[1] <- 3
local <- c(0, rpois(n - 1, pmax(0.5, 25 * exp(-((seq(2, n) - 30) / 10)^2))))
run_case("synthetic_li_np", local, imported = imported, method = "non_parametric_si",
         si_distr = Flu2009$si_distr)
run_case("synthetic_li_par_w5", local, imported = imported, method = "parametric_si",
         si_mean = 4.7, si_sd = 2.9, window = 5)

write_table(do.call(rbind, cases), "cases.csv")

grid <- expand.grid(k = 0:40, sigma = c(0.5, 1.5, 2.9, 4.1, 8), mu = c(1.5, 2.6, 6.8, 12))
grid$w <- unlist(lapply(seq_len(nrow(grid)), function(i) {
  discr_si(grid$k[i], grid$mu[i], grid$sigma[i])
}))
write_table(grid[, c("mu", "sigma", "k", "w")], "discr_si.csv")
cat("wrote", length(cases), "cases to", out_dir, "\n")
