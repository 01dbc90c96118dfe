"""The R script written by ``regrow evidence --export-r``: metafor refits every pooled result from the exported
data and writes its numbers beside regrow's (kept here as text: it is data for R, not Python)."""

from __future__ import annotations

__all__ = ["R_SCRIPT"]

R_SCRIPT = r"""#!/usr/bin/env Rscript
## reproduce.R -- refit every pooled result of `regrow evidence` with metafor (written by regrow evidence --export-r)
##
## Usage: Rscript reproduce.R [DIR]      (DIR: the folder holding this script's CSV files; default: its own folder)
##
## Pairwise: rma(yi, vi, method = "REML", test = "knha") for every pooled set of study effects in pools.csv (the
## main analysis, the analysis without imputed studies, leave-one-out, subgroups, meta-regressions); a set of one
## study is that study's effect with a normal (z) interval, as regrow reports it.
## Network: the contrast-based model of metafor's network examples (dat.hasselblad1998, dat.senn2013):
## rma.mv(yi, V, mods = treatment contrasts, intercept = FALSE, random = ~ comp | study, rho = 1/2) per connected
## part, then every treatment against the reference, the league table, P-scores, the design-by-treatment
## interaction test and node splitting.
## Writes metafor_results.csv (key, value) and prints the largest relative difference from regrow_results.csv.
## Fits use tightened convergence control (threshold 1e-12 for rma; nlminb rel.tol 1e-12, bobyqa as a fallback,
## for rma.mv) so that the comparison measures the two programs, not their stopping rules.
## Tested with R 4.2 and metafor 3.8-1.

suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) >= 1) args[1] else {
  file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(file_arg)) dirname(normalizePath(sub("^--file=", "", file_arg[1]))) else getwd()
}
keys <- character(0); vals <- numeric(0)
put <- function(key, value) { keys <<- c(keys, key); vals <<- c(vals, as.numeric(value)[1]) }
z <- qnorm(0.975)

## ------------------------------------------------------------------------------------------------ pairwise
eff <- read.csv(file.path(dir, "effects.csv"), stringsAsFactors = FALSE)
pools <- read.csv(file.path(dir, "pools.csv"), stringsAsFactors = FALSE)
for (i in seq_len(nrow(pools))) {
  p <- pools[i, ]
  ids <- strsplit(p$effects, ";", fixed = TRUE)[[1]]
  d <- eff[match(ids, eff$effect_id), ]
  key <- paste0("pairwise/", p$pool_id, "/")
  if (p$kind == "metareg") {
    x <- d[[p$moderator]]
    r <- rma(d$yi, d$vi, mods = ~ x, method = "REML", test = "knha",
             control = list(threshold = 1e-12, maxiter = 1000))
    put(paste0(key, "slope"), r$beta[2]); put(paste0(key, "slope_ci_lb"), r$ci.lb[2])
    put(paste0(key, "slope_ci_ub"), r$ci.ub[2]); put(paste0(key, "slope_pval"), r$pval[2])
    next
  }
  if (nrow(d) == 1) {
    se <- sqrt(d$vi)
    put(paste0(key, "estimate"), d$yi); put(paste0(key, "se"), se)
    put(paste0(key, "ci_lb"), d$yi - z * se); put(paste0(key, "ci_ub"), d$yi + z * se)
    next
  }
  r <- rma(d$yi, d$vi, method = "REML", test = "knha", control = list(threshold = 1e-12, maxiter = 1000))
  pr <- predict(r)
  put(paste0(key, "estimate"), r$beta); put(paste0(key, "se"), r$se)
  put(paste0(key, "ci_lb"), r$ci.lb); put(paste0(key, "ci_ub"), r$ci.ub)
  put(paste0(key, "pi_lb"), pr$pi.lb); put(paste0(key, "pi_ub"), pr$pi.ub)
  put(paste0(key, "tau2"), r$tau2); put(paste0(key, "I2"), r$I2)
}

## ------------------------------------------------------------------------------------------------- network
mv <- function(...) {  # rma.mv with tight control; bobyqa when nlminb stops short at 1e-12
  cl <- sys.call(); cl[[1]] <- quote(rma.mv)
  for (ctrl in list(list(rel.tol = 1e-12), list(optimizer = "bobyqa"))) {
    cl$control <- ctrl
    fit <- try(suppressWarnings(eval(cl, parent.frame())), silent = TRUE)
    if (!inherits(fit, "try-error")) return(fit)
  }
  stop("rma.mv did not converge")
}
contrast_X <- function(d, others) {
  X <- sapply(others, function(t) (d$treat1 == t) - (d$treat2 == t))
  matrix(X, nrow = nrow(d), dimnames = list(NULL, others))
}
study_blocks <- function(d, V) lapply(unique(d$study), function(s) {
  r <- which(d$study == s); list(study = s, rows = r, V = V[r, r, drop = FALSE])
})
rebase <- function(d, V, studies, a) {  # re-express the named studies against their arm `a`
  blocks <- study_blocks(d, V); rows <- list(); Vs <- list()
  for (b in blocks) {
    db <- d[b$rows, ]; y <- db$yi; Vb <- b$V; base <- db$treat2[1]; others <- db$treat1
    if (b$study %in% studies && base != a) {
      ia <- match(a, others); new_others <- c(base, others[others != a])
      Tm <- matrix(0, length(others), length(others))
      for (j in seq_along(new_others)) {
        if (new_others[j] != base) Tm[j, match(new_others[j], others)] <- 1
        Tm[j, ia] <- Tm[j, ia] - 1
      }
      y <- as.vector(Tm %*% y); Vb <- Tm %*% Vb %*% t(Tm); others <- new_others; base <- a
    }
    rows[[length(rows) + 1]] <- data.frame(study = b$study, treat1 = others, treat2 = base, yi = y)
    Vs[[length(Vs) + 1]] <- Vb
  }
  out <- do.call(rbind, rows); out$comp <- paste(out$treat1, out$treat2, sep = "-")
  list(d = out, V = bldiag(Vs))
}

nets <- read.csv(file.path(dir, "networks.csv"), stringsAsFactors = FALSE)
con <- read.csv(file.path(dir, "network_contrasts.csv"), stringsAsFactors = FALSE)
for (i in seq_len(nrow(nets))) {
  n <- nets[i, ]
  key <- paste0("network/", n$network, "/", n$part, "/")
  d <- con[con$network == n$network & con$part == n$part, c("study", "treat1", "treat2", "yi")]
  d$comp <- paste(d$treat1, d$treat2, sep = "-")
  V <- unname(as.matrix(read.csv(file.path(dir, n$V_file), header = FALSE)))
  trts <- strsplit(n$treatments, ";", fixed = TRUE)[[1]]; others <- trts[-1]; T <- length(trts)
  X <- contrast_X(d, others)
  fit <- mv(yi, V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1/2, data = d, method = "REML")
  tau2 <- fit$tau2; put(paste0(key, "tau2"), tau2)
  b <- c(0, as.vector(fit$beta)); vb <- bldiag(matrix(0), fit$vb)
  for (j in 1:T) {
    est <- b[j]; se <- sqrt(vb[j, j]); spread <- sqrt(se^2 + if (j == 1) 0 else tau2)
    k <- paste0(key, "effect/", trts[j], "/")
    put(paste0(k, "estimate"), est); put(paste0(k, "se"), se)
    put(paste0(k, "ci_lb"), est - z * se); put(paste0(k, "ci_ub"), est + z * se)
    put(paste0(k, "pi_lb"), est - z * spread); put(paste0(k, "pi_ub"), est + z * spread)
  }
  if (T > 1) {
    ## prediction intervals of the effects against the reference, as metafor's predict() gives them
    pr <- if (isTRUE(fit$int.only)) predict(fit) else predict(fit, newmods = diag(T - 1))
    for (j in 2:T) { put(paste0(key, "predict/", trts[j], "/pi_lb"), pr$pi.lb[j - 1])
                     put(paste0(key, "predict/", trts[j], "/pi_ub"), pr$pi.ub[j - 1]) }
  }
  P <- matrix(NA, T, T)
  for (a in 1:T) for (c in 1:T) if (a != c) {
    x <- rep(0, T); x[a] <- 1; x[c] <- -1
    est <- sum(x * b); se <- sqrt(c(t(x) %*% vb %*% x))
    put(paste0(key, "league/", trts[a], "/", trts[c], "/estimate"), est)
    put(paste0(key, "league/", trts[a], "/", trts[c], "/se"), se)
    P[a, c] <- if (n$small_values == "good") pnorm(-est / se) else pnorm(est / se)
  }
  ps <- rowMeans(P, na.rm = TRUE)
  for (j in 1:T) put(paste0(key, "pscore/", trts[j]), ps[j])
  ## design-by-treatment interaction (Higgins et al. 2012): one effect per design and contrast
  design_of <- sapply(split(d, d$study), function(s) paste(trts[sort(match(unique(c(s$treat2, s$treat1)), trts))], collapse = ":"))
  dkey <- paste(design_of[d$study], d$treat1, d$treat2, sep = "|")
  ukeys <- unique(dkey)
  Xinc <- sapply(ukeys, function(u) as.numeric(dkey == u))
  full <- cbind(X, matrix(Xinc, nrow = nrow(d)))
  q <- qr(full); keep <- sort(q$pivot[seq_len(q$rank)])
  if (any(keep > ncol(X))) {
    fi <- mv(yi, V, mods = full[, keep, drop = FALSE], intercept = FALSE, random = ~ comp | study, rho = 1/2,
             data = d, method = "REML")
    inc <- which(keep > ncol(X))
    a <- anova(fi, btt = inc)
    put(paste0(key, "dbt/QM"), a$QM); put(paste0(key, "dbt/df"), a$QMdf[1]); put(paste0(key, "dbt/pval"), a$QMp)
  }
  ## node splitting (Dias et al. 2010): the studies holding both A and B get their own B-vs-A parameter
  for (ia in 1:(T - 1)) for (ib in (ia + 1):T) {
    A <- trts[ia]; B <- trts[ib]
    arms <- split(c(d$treat1, d$treat2), c(d$study, d$study))
    st <- names(arms)[sapply(arms, function(x) A %in% x && B %in% x)]
    if (length(st) == 0) next
    rb <- rebase(d, V, st, A)
    Xs <- contrast_X(rb$d, others)
    omega <- as.numeric(rb$d$treat1 == B & rb$d$treat2 == A & rb$d$study %in% st)
    Xo <- cbind(Xs, omega = omega)
    if (qr(Xo)$rank < ncol(Xo)) next
    rs <- mv(yi, rb$V, mods = Xo, intercept = FALSE, random = ~ comp | study, rho = 1/2, data = rb$d, method = "REML")
    xb <- c((others == B) - (others == A), 0); xd <- xb; xd[length(xd)] <- 1
    p <- length(rs$beta); k <- paste0(key, "split/", B, "/", A, "/")
    put(paste0(k, "direct"), sum(xd * rs$beta)); put(paste0(k, "indirect"), sum(xb * rs$beta))
    put(paste0(k, "diff"), rs$beta[p]); put(paste0(k, "diff_se"), rs$se[p]); put(paste0(k, "pval"), rs$pval[p])
  }
}

out <- data.frame(key = keys, value = sprintf("%.17g", vals))
write.csv(out, file.path(dir, "metafor_results.csv"), row.names = FALSE, quote = TRUE)
ours <- read.csv(file.path(dir, "regrow_results.csv"), stringsAsFactors = FALSE)
m <- merge(ours, data.frame(key = keys, metafor = vals), by = "key")
rel <- abs(m$value - m$metafor) / pmax(abs(m$metafor), 1e-8)
cat(sprintf("compared %d numbers with regrow; largest relative difference %.3g (%s)\n", nrow(m), max(rel),
            m$key[which.max(rel)]))
missing <- setdiff(ours$key, keys)
if (length(missing)) cat("not refitted here:", paste(missing, collapse = ", "), "\n")
"""
