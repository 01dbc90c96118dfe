#!/usr/bin/env Rscript
## =============================================================================
## make_refs_mv.R -- metafor 3.8-1 references for regrow.meta's rma_mv, vcalc
##                   and network meta-analysis.
##
## Usage:   Rscript tests/meta/refs_mv/make_refs_mv.R [OUTDIR]
##          (default: the folder this script lives in)
##
## Writes OUTDIR/<case>.json (one file per group of analyses) and OUTDIR/data/*.csv (the metadat data sets
## the Python tests read, in the long format used here). Tested with R 4.2.2, metafor 3.8-1, metadat 1.2-0,
## clubSandwich 0.5.8 (Debian bookworm packages).
##
## Every model is fitted twice (see mv() below): with nlminb's relative tolerance tightened to 1e-12, so that
## the reference is the maximum of the likelihood to ~1e-8 (the main reference), and with metafor's DEFAULT
## control, as a user would run it (stored under "default": with default settings nlminb stops up to ~1e-4
## away from the optimum on flat likelihoods such as dat.berkey1998's UN model). Profiles and confidence
## intervals refit the model at each point; they use the default-control fit (nlminb fails to converge on some
## of those refits at 1e-12) and confint(..., control = list(tol = 1e-10)) so that uniroot's tolerance does
## not dominate the comparison.
##
## Numbers are written by jsonlite with digits = NA (15 significant digits); NA -> null.
## =============================================================================

suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
script_dir <- local({
  file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(file_arg)) dirname(normalizePath(sub("^--file=", "", file_arg[1]))) else getwd()
})
OUT <- if (length(args) >= 1) args[1] else script_dir
dir.create(file.path(OUT, "data"), recursive = TRUE, showWarnings = FALSE)

write_ref <- function(x, name) {
  x$metafor <- as.character(packageVersion("metafor"))
  x$metadat <- as.character(packageVersion("metadat"))
  write_json(x, file.path(OUT, paste0(name, ".json")), digits = NA, auto_unbox = TRUE,
             na = "null", null = "null", pretty = TRUE, matrix = "rowmajor")
}
write_data <- function(dat, name) {
  write.csv(dat, file.path(OUT, "data", paste0(name, ".csv")), row.names = FALSE)
}
arr <- function(x) I(unname(as.vector(x)))   # always a JSON array
CTRLS <- list(list(rel.tol = 1e-12), list(optimizer = "bobyqa"))
## mv() with the tight control; the default-control fit rides along as attr(, "default").
mv <- function(...) {
  cl <- sys.call()
  cl[[1]] <- quote(rma.mv)
  used <- NULL
  for (ctrl in CTRLS) {  # nlminb sometimes reports non-convergence at 1e-12; bobyqa then reaches the optimum
    cl$control <- ctrl
    res <- try(eval(cl, parent.frame()), silent = TRUE)
    if (!inherits(res, "try-error")) { used <- ctrl; break }
  }
  if (is.null(used)) stop("no tight control converged")
  cl$control <- NULL
  attr(res, "default") <- eval(cl, parent.frame())
  attr(res, "control_used") <- paste(names(used), unlist(used), sep = "=", collapse = ",")
  res
}
dflt <- function(res) attr(res, "default")
mat <- function(x) unname(as.matrix(x))

fit_out <- function(res) {
  fs <- res$fit.stats
  out <- list(
    k = res$k, p = res$p, parms = res$parms, method = res$method, test = res$test,
    coef_names = arr(rownames(res$beta)),
    beta = arr(res$beta), se = arr(res$se), zval = arr(res$zval), pval = arr(res$pval),
    ci_lb = arr(res$ci.lb), ci_ub = arr(res$ci.ub), vb = mat(res$vb),
    QE = res$QE, QEp = res$QEp, QM = res$QM, QMp = res$QMp, QMdf = arr(res$QMdf),
    ddf = arr(res$ddf),
    fit_stats = list(ML = as.list(setNames(fs$ML, rownames(fs))),
                     REML = as.list(setNames(fs$REML, rownames(fs))))
  )
  if (res$withS) {
    out$sigma2 <- arr(res$sigma2)
    out$s_nlevels <- arr(res$s.nlevels)
    out$s_names <- arr(res$s.names)
  }
  if (res$withG) {
    out$tau2 <- arr(res$tau2)
    out$rho <- arr(res$rho)
    out$g_levels <- arr(res$g.levels.f[[1]])
    out$g_nlevels <- arr(res$g.nlevels)
    out$G <- mat(res$G)
  }
  if (res$withH) {
    out$gamma2 <- arr(res$gamma2)
    out$phi <- arr(res$phi)
    out$h_nlevels <- arr(res$h.nlevels)
  }
  d <- dflt(res)
  if (!is.null(d)) {
    out$default <- list(beta = arr(d$beta), se = arr(d$se), ll = c(logLik(d)))
    out$control_used <- attr(res, "control_used")
    for (vc in c("sigma2", "tau2", "rho", "gamma2", "phi")) {
      if (!is.null(out[[vc]])) out$default[[vc]] <- arr(d[[vc]])
    }
  }
  out
}
pred_out <- function(pr) {
  pr <- as.data.frame(pr)
  out <- list(pred = arr(pr$pred), se = arr(pr$se), ci_lb = arr(pr$ci.lb), ci_ub = arr(pr$ci.ub))
  if (!is.null(pr$pi.lb)) {
    out$pi_lb <- arr(pr$pi.lb)
    out$pi_ub <- arr(pr$pi.ub)
  }
  out
}
ranef_out <- function(re) {
  lapply(re, function(d) list(names = arr(trimws(rownames(d))), intrcpt = arr(d$intrcpt), se = arr(d$se),
                              pi_lb = arr(d$pi.lb), pi_ub = arr(d$pi.ub)))
}
robust_out <- function(rb) {
  list(beta = arr(rb$beta), se = arr(rb$se), zval = arr(rb$zval), pval = arr(rb$pval),
       ci_lb = arr(rb$ci.lb), ci_ub = arr(rb$ci.ub), vb = mat(rb$vb), QM = rb$QM, QMp = rb$QMp,
       QMdf = arr(rb$QMdf), dfs = arr(rb$dfs), n = rb$n, vbest = rb$vbest)
}
lrt_out <- function(a) {
  list(LRT = a$LRT, pval = a$pval, parms_f = a$parms.f, parms_r = a$parms.r,
       ll_f = unname(a$fit.stats.f["ll"]), ll_r = unname(a$fit.stats.r["ll"]))
}
profile_out <- function(pr) {
  one <- function(p) list(vc = arr(p[[1]]), ll = arr(p$ll))
  if (!is.null(pr$comps) && pr$comps > 1) lapply(pr[seq_len(pr$comps)], one) else list(one(pr))
}
confint_out <- function(ci) {
  one <- function(c) list(names = arr(rownames(c$random)), estimate = arr(c$random[, "estimate"]),
                          ci_lb = arr(c$random[, "ci.lb"]), ci_ub = arr(c$random[, "ci.ub"]))
  if (inherits(ci, "list.confint.rma")) lapply(ci[sapply(ci, inherits, "confint.rma")], one) else list(one(ci))
}
CI_CTRL <- list(tol = 1e-10)

## -----------------------------------------------------------------------------
## dat.konstantopoulos2011: multilevel models (schools within districts)
## -----------------------------------------------------------------------------
dat <- dat.konstantopoulos2011
write_data(dat, "konstantopoulos2011")
r <- list()
res.re <- mv(yi, vi, random = ~ 1 | study, data = dat)
r$re_study <- fit_out(res.re)
res.ml <- mv(yi, vi, random = ~ 1 | district/school, data = dat)
r$ml_reml <- fit_out(res.ml)
r$ml_reml_predict <- pred_out(predict(res.ml))
r$ml_reml_ranef <- ranef_out(ranef(res.ml))
r$ml_reml_profile <- profile_out(profile(dflt(res.ml), progbar = FALSE, plot = FALSE))
r$ml_reml_confint <- confint_out(confint(dflt(res.ml), control = CI_CTRL))
r$ml_reml_robust_cr1 <- robust_out(robust(res.ml, cluster = district))
r$ml_reml_robust_cr0 <- robust_out(robust(res.ml, cluster = district, adjust = FALSE))
r$ml_reml_robust_cr2 <- robust_out(robust(res.ml, cluster = district, clubSandwich = TRUE))
res.mlml <- mv(yi, vi, random = ~ 1 | district/school, data = dat, method = "ML")
r$ml_ml <- fit_out(res.mlml)
res.mv <- mv(yi, vi, random = ~ school | district, data = dat)
r$mv_cs <- fit_out(res.mv)
r$mv_cs_ranef <- ranef_out(ranef(res.mv))
r$mv_cs_profile <- profile_out(profile(dflt(res.mv), progbar = FALSE, plot = FALSE))
dat$year_c <- dat$year - 1990
res.mod <- mv(yi, vi, mods = ~ year_c, random = ~ 1 | district/school, data = dat)
r$ml_year <- fit_out(res.mod)
r$ml_year_predict <- pred_out(predict(res.mod, newmods = c(-10, 0, 5)))
r$ml_year_robust_cr1 <- robust_out(robust(res.mod, cluster = district))
r$ml_year_robust_cr2 <- robust_out(robust(res.mod, cluster = district, clubSandwich = TRUE))
res.mod.t <- mv(yi, vi, mods = ~ year_c, random = ~ 1 | district/school, data = dat, test = "t")
r$ml_year_t <- fit_out(res.mod.t)
res.mod.c <- mv(yi, vi, mods = ~ year_c, random = ~ 1 | district/school, data = dat, dfs = "contain")
r$ml_year_contain <- fit_out(res.mod.c)
## LRT for the district-level variance component (REML, same fixed effects)
res0 <- mv(yi, vi, random = ~ 1 | district/school, data = dat, sigma2 = c(0, NA))
r$ml_sigma2_fixed <- fit_out(res0)
r$lrt_district <- lrt_out(anova(res.ml, res0))
## LRT for a moderator (ML fits)
res.ml.f <- mv(yi, vi, mods = ~ year_c, random = ~ 1 | district/school, data = dat, method = "ML")
r$lrt_year <- lrt_out(anova(res.ml.f, res.mlml))
## crossed (not nested) random intercepts: districts crossed with school numbers
res.cr <- mv(yi, vi, random = list(~ 1 | district, ~ 1 | school), data = dat)
r$crossed <- fit_out(res.cr)
r$crossed_ranef <- ranef_out(ranef(res.cr))
## equal-effects model with a known V
res.ee <- mv(yi, vi, data = dat, method = "EE")
r$ee <- fit_out(res.ee)
write_ref(r, "konstantopoulos2011")

## -----------------------------------------------------------------------------
## dat.berkey1998: multivariate model with known sampling covariances (vcalc rvars)
## -----------------------------------------------------------------------------
dat <- dat.berkey1998
dat$year_c <- dat$year - 1983
write_data(dat, "berkey1998")
r <- list()
V <- vcalc(vi = 1, cluster = author, rvars = c(v1i, v2i), data = dat)
r$V <- mat(V)
res <- mv(yi, V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = "UN", data = dat)
r$un <- fit_out(res)
r$un_anova_X <- local({
  a <- anova(res, X = c(1, -1))
  list(Xb = arr(a$Xb), se = arr(a$se), zval = arr(a$zval), pval = arr(a$pval), QM = a$QM, QMp = a$QMp)
})
r$un_anova_X2 <- local({
  a <- anova(res, X = rbind(c(1, 0), c(1, 1)))
  list(Xb = arr(a$Xb), se = arr(a$se), zval = arr(a$zval), pval = arr(a$pval), QM = a$QM, QMp = a$QMp)
})
r$un_predict_levels <- pred_out(predict(res, newmods = rbind(c(1, 0), c(0, 1)), tau2.levels = c("AL", "PD")))
r$un_ranef <- ranef_out(ranef(res))
r$un_profile <- profile_out(profile(dflt(res), progbar = FALSE, plot = FALSE))
r$un_confint <- confint_out(confint(dflt(res), control = CI_CTRL))
r$un_robust_cr1 <- robust_out(robust(res, cluster = trial))
res.ml <- mv(yi, V, mods = ~ outcome + outcome:year_c - 1, random = ~ outcome | trial, struct = "UN",
                 data = dat, method = "ML")
r$un_year_ml <- fit_out(res.ml)
for (s in c("CS", "HCS", "ID", "DIAG")) {
  r[[paste0("struct_", s)]] <- fit_out(mv(yi, V, mods = ~ outcome - 1, random = ~ outcome | trial,
                                              struct = s, data = dat))
}
res.cs.fix <- mv(yi, V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = "CS", rho = 0.5,
                     data = dat)
r$struct_CS_rho_fixed <- fit_out(res.cs.fix)
r$struct_CS_rho_fixed_profile <- profile_out(profile(dflt(res.cs.fix), progbar = FALSE, plot = FALSE))
write_ref(r, "berkey1998")

## -----------------------------------------------------------------------------
## dat.assink2016: three-level model, robust inference, LRTs, vcalc with obs/rho
## -----------------------------------------------------------------------------
dat <- dat.assink2016
write_data(dat, "assink2016")
r <- list()
res <- mv(yi, vi, random = ~ 1 | study/esid, data = dat)
r$ml <- fit_out(res)
r$ml_predict <- pred_out(predict(res))
r$ml_robust_cr1 <- robust_out(robust(res, cluster = study))
r$ml_robust_cr2 <- robust_out(robust(res, cluster = study, clubSandwich = TRUE))
res0 <- mv(yi, vi, random = ~ 1 | study/esid, data = dat, sigma2 = c(0, NA))
r$lrt_study <- lrt_out(anova(res0, res))
res0 <- mv(yi, vi, random = ~ 1 | study/esid, data = dat, sigma2 = c(NA, 0))
r$lrt_esid <- lrt_out(anova(res0, res))
r$mod_pubstatus <- fit_out(mv(yi, vi, mods = ~ pubstatus, random = ~ 1 | study/esid, data = dat))
r$mod_year <- fit_out(mv(yi, vi, mods = ~ year, random = ~ 1 | study/esid, data = dat))
res.dt <- mv(yi, vi, mods = ~ deltype, random = ~ 1 | study/esid, data = dat)
r$mod_deltype <- fit_out(res.dt)
r$mod_deltype_robust_cr2 <- robust_out(robust(res.dt, cluster = study, clubSandwich = TRUE))
r$mod_year_deltype <- fit_out(mv(yi, vi, mods = ~ year + deltype, random = ~ 1 | study/esid, data = dat))
V <- vcalc(vi, cluster = study, obs = esid, data = dat, rho = 0.6)
r$V_rho06 <- mat(V)
res.v <- mv(yi, V, random = ~ 1 | study/esid, data = dat)
r$ml_V <- fit_out(res.v)
r$ml_V_robust_cr1 <- robust_out(robust(res.v, cluster = study))
write_ref(r, "assink2016")

## -----------------------------------------------------------------------------
## dat.ishak2007: repeated measurements, AR(1)-type structures, vcalc with time1/phi
## -----------------------------------------------------------------------------
dat <- dat.ishak2007
dat <- reshape(dat, direction = "long", idvar = "study", v.names = c("yi", "vi"),
               varying = list(c(2, 4, 6, 8), c(3, 5, 7, 9)))
dat <- dat[order(dat$study, dat$time), ]
dat <- dat[!is.na(dat$yi), ]
rownames(dat) <- NULL
write_data(dat, "ishak2007")
r <- list()
V <- vcalc(vi, cluster = study, time1 = time, phi = 0.97, data = dat)
r$V_phi097 <- mat(V)
for (s in c("AR", "HAR", "CAR")) {
  res <- mv(yi, V, mods = ~ factor(time) - 1, random = ~ time | study, struct = s, data = dat)
  r[[paste0("struct_", s)]] <- fit_out(res)
}
res.ar <- mv(yi, V, mods = ~ factor(time) - 1, random = ~ time | study, struct = "AR", data = dat)
r$struct_AR_ranef <- ranef_out(ranef(res.ar))
r$struct_AR_predict <- pred_out(predict(res.ar, newmods = diag(4)))
r$struct_AR_profile <- profile_out(profile(dflt(res.ar), progbar = FALSE, plot = FALSE))
r$struct_AR_confint <- confint_out(confint(dflt(res.ar), control = CI_CTRL))
write_ref(r, "ishak2007")

## -----------------------------------------------------------------------------
## vcalc: the other dependence structures of metafor's vcalc examples
## -----------------------------------------------------------------------------
r <- list()
dat <- dat.assink2016
r$assink_type_obs <- mat(vcalc(vi, cluster = study, type = deltype, obs = esid, data = dat, rho = c(0.7, 0.5)))
dat <- dat.kalaian1996
write_data(dat, "kalaian1996")
r$kalaian_type <- mat(vcalc(vi, cluster = study, type = outcome, data = dat, rho = 0.66))
dat <- dat.knapp2017
dat$task.diff <- unlist(lapply(split(dat, dat$study), function(x) {
  task.int <- as.integer(factor(x$task))
  diff.int <- as.integer(factor(x$difficulty))
  diff.int[is.na(diff.int)] <- 1
  paste0(task.int, ".", diff.int)
}))
write_data(dat, "knapp2017")
R <- matrix(0.4, nrow = 8, ncol = 8)
R[5:8, 1:4] <- R[1:4, 5:8] <- 0.28
diag(R[1:4, 5:8]) <- 0.7
diag(R[5:8, 1:4]) <- 0.7
diag(R) <- 1
rownames(R) <- colnames(R) <- paste0(rep(1:2, each = 4), ".", 1:4)
r$knapp_R <- mat(R)
r$knapp_R_names <- arr(rownames(R))
r$knapp_groups <- mat(vcalc(vi, cluster = study, grp1 = group1, grp2 = group2, w1 = n_sz, w2 = n_hc, data = dat))
r$knapp_groups_obs <- mat(vcalc(vi, cluster = study, grp1 = group1, grp2 = group2, w1 = n_sz, w2 = n_hc,
                                obs = task.diff, rho = R, data = dat))
write_ref(r, "vcalc")

## -----------------------------------------------------------------------------
## Network meta-analysis (contrast-based rma.mv with rho = 1/2, as in metafor's examples)
## -----------------------------------------------------------------------------
## Arm-level data -> one row per non-baseline arm: contrast vs the study's baseline arm (the arm whose
## treatment comes first in `order`), with V = diag(arm variances) + variance of the baseline arm.
arm_stats <- function(d, measure, add, to) {
  if (measure == "MD") {
    return(data.frame(est = d$mi, var = d$sdi^2 / d$ni))
  }
  x <- d$xi; n <- d$ni
  zero <- any(x == 0 | x == n)
  if (to == "all" || (to == "only0" && zero)) { x <- x + add; n <- n + 2 * add }
  data.frame(est = log(x / (n - x)), var = 1 / x + 1 / (n - x))
}
build_contrasts <- function(arms, order, measure, add = 0.5, to = "only0", baseline_for = NULL) {
  rows <- list(); Vs <- list()
  for (s in unique(arms$study)) {
    d <- arms[arms$study == s, ]
    if (measure != "MD" && all(d$xi == 0)) next      # no events in any arm: no information (dropped)
    st <- arm_stats(d, measure, add, to)
    pos <- match(d$trt, order)
    b <- which.min(pos)
    if (!is.null(baseline_for) && !is.null(baseline_for[[as.character(s)]])) {
      b <- match(baseline_for[[as.character(s)]], d$trt)
    }
    others <- setdiff(seq_len(nrow(d)), b)
    others <- others[order(match(d$trt[others], order))]
    design <- paste(d$trt[sort(pos, index.return = TRUE)$ix], collapse = ":")
    for (j in others) {
      rows[[length(rows) + 1]] <- data.frame(study = s, trt1 = d$trt[j], trt2 = d$trt[b],
                                              yi = st$est[j] - st$est[b], design = design)
    }
    v <- matrix(st$var[b], length(others), length(others))
    diag(v) <- st$var[others] + st$var[b]
    Vs[[length(Vs) + 1]] <- v
  }
  out <- do.call(rbind, rows)
  out$comp <- paste(out$trt1, out$trt2, sep = "-")
  list(dat = out, V = bldiag(Vs))
}
contrast_X <- function(dat, trts) {  # trts: non-reference treatments, in coefficient order
  X <- sapply(trts, function(t) (dat$trt1 == t) - (dat$trt2 == t))
  matrix(X, nrow = nrow(dat), dimnames = list(NULL, trts))
}
pscores <- function(b, vb, trts_all, small_good) {
  ## b, vb: effects of trts_all vs the reference (reference included with 0)
  T <- length(trts_all)
  P <- matrix(NA, T, T, dimnames = list(trts_all, trts_all))
  for (i in 1:T) for (j in 1:T) if (i != j) {
    x <- rep(0, T); x[i] <- 1; x[j] <- -1
    z <- sum(x * b) / sqrt(c(t(x) %*% vb %*% x))
    P[i, j] <- if (small_good) pnorm(-z) else pnorm(z)
  }
  rowMeans(P, na.rm = TRUE)
}
network_refs <- function(arms, reference, measure, small_good, add = 0.5, to = "only0") {
  trts <- sort(unique(arms$trt))
  order <- c(reference, setdiff(trts, reference))
  cb <- build_contrasts(arms, order, measure, add, to)
  dat <- cb$dat; V <- cb$V
  others <- order[-1]
  X <- contrast_X(dat, others)
  res <- mv(dat$yi, V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1/2,
                data = dat)
  out <- list(treatments = arr(order), reference = reference, measure = measure,
              contrasts = list(study = arr(dat$study), trt1 = arr(dat$trt1), trt2 = arr(dat$trt2),
                               yi = arr(dat$yi), design = arr(dat$design)),
              V = mat(V), fit = fit_out(res))
  ## all pairwise differences (league table): row treatment minus column treatment
  T <- length(order)
  b <- c(0, as.vector(res$beta)); vb <- bldiag(matrix(0), res$vb)
  est <- matrix(NA, T, T); se <- matrix(NA, T, T)
  for (i in 1:T) for (j in 1:T) {
    if (i == j) { est[i, j] <- 0; se[i, j] <- 0; next }
    x <- rep(0, T); x[i] <- 1; x[j] <- -1
    est[i, j] <- sum(x * b); se[i, j] <- sqrt(c(t(x) %*% vb %*% x))
  }
  out$league <- list(estimate = est, se = se)
  out$pscore <- arr(pscores(b, vb, order, small_good))
  out$small_values_good <- small_good
  ## design-by-treatment interaction (Higgins et al. 2012): design-specific contrast effects
  key <- paste(dat$design, dat$trt1, dat$trt2, sep = "|")
  ukeys <- unique(key)
  Xinc <- sapply(ukeys, function(u) as.numeric(key == u))
  Xfull <- cbind(X, Xinc)
  res.inc <- mv(dat$yi, V, mods = Xfull, intercept = FALSE, random = ~ comp | study, rho = 1/2,
                    data = dat)
  inc_cols <- setdiff(seq_len(res.inc$p), seq_len(ncol(X)))
  a <- anova(res.inc, btt = inc_cols)
  out$design_by_treatment <- list(QM = a$QM, df = a$QMdf[1], pval = a$QMp, tau2 = res.inc$tau2)
  ## random inconsistency effects (Law et al. 2016)
  res.law <- mv(dat$yi, V, mods = X, intercept = FALSE, random = list(~ comp | study, ~ comp | design),
                    rho = 1/2, phi = 1/2, data = dat)
  out$random_inconsistency <- fit_out(res.law)
  ## node splitting: for each pair with direct evidence, studies holding both use one of them as baseline,
  ## and the direct rows get their own parameter omega (direct = indirect + omega)
  splits <- list()
  for (i in 1:(T - 1)) for (j in (i + 1):T) {
    A <- order[i]; B <- order[j]
    st <- unique(arms$study[arms$trt == A])
    st <- intersect(st, unique(arms$study[arms$trt == B]))
    st <- intersect(st, unique(dat$study))  # studies left out (no events in any arm) do not count
    if (length(st) == 0) next
    bf <- setNames(as.list(rep(A, length(st))), as.character(st))
    cbs <- build_contrasts(arms, order, measure, add, to, baseline_for = bf)
    d2 <- cbs$dat
    if (nrow(d2) == 0) next
    Xs <- contrast_X(d2, others)
    omega <- as.numeric(d2$trt1 == B & d2$trt2 == A & d2$study %in% st)
    if (sum(omega) == 0) next
    Xo <- cbind(Xs, omega = omega)
    if (qr(Xo)$rank < ncol(Xo)) next
    rs <- mv(d2$yi, cbs$V, mods = Xo, intercept = FALSE, random = ~ comp | study, rho = 1/2, data = d2)
    xb <- c((others == B) - (others == A), 0)
    ind <- sum(xb * rs$beta); ind_se <- sqrt(c(t(xb) %*% rs$vb %*% xb))
    xd <- c((others == B) - (others == A), 1)
    dir <- sum(xd * rs$beta); dir_se <- sqrt(c(t(xd) %*% rs$vb %*% xd))
    p <- length(rs$beta)
    splits[[length(splits) + 1]] <- list(
      treat1 = B, treat2 = A, n_studies = length(st), direct = dir, direct_se = dir_se,
      indirect = ind, indirect_se = ind_se, diff = rs$beta[p], diff_se = rs$se[p], pval = rs$pval[p],
      tau2 = rs$tau2)
  }
  out$node_split <- splits
  out
}

## dat.hasselblad1998 (smoking cessation, odds ratios; metafor's example adds 1/2 to all cells)
arms <- dat.hasselblad1998
arms <- data.frame(study = arms$study, trt = arms$trt, xi = arms$xi, ni = arms$ni)
write_data(arms, "hasselblad1998")
write_ref(network_refs(arms, "no_contact", "OR", small_good = FALSE, add = 0.5, to = "all"), "network_hasselblad1998")

## dat.senn2013 (glucose-lowering agents, mean differences in HbA1c: smaller is better)
arms <- dat.senn2013
arms <- data.frame(study = arms$study, trt = arms$treatment, mi = arms$mi, sdi = arms$sdi, ni = arms$ni)
write_data(arms, "senn2013")
write_ref(network_refs(arms, "placebo", "MD", small_good = TRUE), "network_senn2013")

## dat.dogliotti2014 (stroke prevention in atrial fibrillation, odds ratios; 1/2 added to every arm of a
## study with a zero cell; WASPO 2007 has no events in either arm and is dropped)
arms <- dat.dogliotti2014
arms <- data.frame(study = arms$study, trt = arms$treatment, xi = arms$stroke, ni = arms$total)
write_data(arms, "dogliotti2014")
write_ref(network_refs(arms, "Placebo/Control", "OR", small_good = TRUE), "network_dogliotti2014")

cat("references written to", OUT, "\n")
