## Reference values for regrow.meta's metafor-breadth features (issue #15), from metafor 3.8-1 and
## clubSandwich. Run from the repository root:
##
##   Rscript tests/meta/refs/make_refs_v2.R
##
## writes tests/meta/refs/refs_v2.json, read by tests/meta/test_refs_v2.py. Iterative fits use
## control=list(threshold=1e-12, tol=1e-12, maxiter=10000) so that R's values are converged to well
## beyond the 1e-6 agreement asked for.
suppressPackageStartupMessages({library(metafor); library(clubSandwich); library(jsonlite)})
stopifnot(as.character(packageVersion("metafor")) == "3.8.1")
CTRL <- list(threshold=1e-12, tol=1e-12, maxiter=10000)
out <- list(metafor=as.character(packageVersion("metafor")),
            clubSandwich=as.character(packageVersion("clubSandwich")))
num <- function(x) as.numeric(x)
fit <- function(r) list(beta=num(coef(r)), se=num(r$se), tau2=num(r$tau2), se_tau2=num(r$se.tau2),
                        ci_lb=num(r$ci.lb), ci_ub=num(r$ci.ub), QE=num(r$QE), QM=num(r$QM))
pred <- function(p) list(pred=num(p$pred), se=if (is.null(p$se)) NULL else num(p$se), ci_lb=num(p$ci.lb),
                         ci_ub=num(p$ci.ub), pi_lb=num(p$pi.lb), pi_ub=num(p$pi.ub))

dat <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)

## estimators, with a moderator; fixed tau2 with its SE
for (m in c("EE", "DL", "DLIT", "HE", "HS", "HSk", "SJ", "SJIT", "ML", "REML", "EB", "PM", "PMM")) {
   r <- rma(yi, vi, mods = ~ ablat, data=dat, method=m, control=CTRL)
   out$estimators[[m]] <- fit(r)
}
out$estimators$GENQ <- fit(rma(yi, vi, mods = ~ ablat, data=dat, method="GENQ", weights=tpos+tneg+cpos+cneg, control=CTRL))
for (m in c("ML", "REML", "DL", "HE", "SJ", "EB", "PM")) {
   out$fixed_tau2[[m]] <- list(se_tau2=num(rma(yi, vi, data=dat, method=m, tau2=0.3)$se.tau2))
}

## weights, weighted=FALSE, studies with vi = 0
out$user_weights <- fit(rma(yi, vi, data=dat, weights=1:13, control=CTRL))
out$unweighted <- fit(rma(yi, vi, mods = ~ ablat, data=dat, weighted=FALSE, control=CTRL))
dz <- dat; dz$vi[c(2, 5)] <- 0
out$vi_zero <- fit(suppressWarnings(rma(yi, vi, data=dz, method="REML", control=CTRL)))

## predict: newmods, level, transf, FE prediction interval = CI
r <- rma(yi, vi, mods = ~ ablat + year, data=dat, control=CTRL)
out$predict$newmods <- pred(predict(r, newmods=cbind(c(10, 30, 50), c(1950, 1960, 1970)), level=90, transf=exp))
out$predict$fe <- pred(predict(rma(yi, vi, data=dat, method="FE")))
out$predict$intercept_false <- pred(predict(r, newmods=c(30, 1960), intercept=FALSE))

## anova with X
a <- anova(r, X=rbind(c(1, 20, 1960), c(0, 1, -1)))
out$anova_X <- list(Xb=num(a$Xb), se=num(a$se), zval=num(a$zval), pval=num(a$pval), QM=num(a$QM), QMp=num(a$QMp))

## Mantel-Haenszel for rates, leave-one-out on an MH fit
n8 <- dat.nielweise2008
for (m in c("IRR", "IRD")) {
   r <- rma.mh(x1i=x1i, t1i=t1i, x2i=x2i, t2i=t2i, measure=m, data=n8)
   out$mh[[m]] <- list(beta=num(coef(r)), se=num(r$se), QE=num(r$QE), MH=if (is.null(r$MH)) NULL else num(r$MH))
}
l1 <- leave1out(rma.mh(ai=tpos, bi=tneg, ci=cpos, di=cneg, measure="OR", data=dat.bcg))
out$mh_leave1out <- list(estimate=num(l1$estimate), se=num(l1$se), Q=num(l1$Q))

## location-scale models
lsd <- dat.bangertdrowns2004
for (lk in c("log", "identity")) {
   r <- rma(yi, vi, mods = ~ meta, scale = ~ meta, data=lsd, link=lk)
   out$ls[[lk]] <- list(beta=num(coef(r)$beta), se=num(r$se), alpha=num(coef(r)$alpha), se_alpha=num(r$se.alpha),
                        QS=num(r$QS), ll=num(logLik(r)))
}

## cluster-robust inference with clubSandwich
r <- rma(yi, vi, mods = ~ ablat + year, data=dat, control=CTRL)
for (v in c("CR2", "CR1", "CR1p", "CR3")) {
   s <- robust(r, cluster=c(1,1,2,2,3,3,4,4,5,5,6,6,7), clubSandwich=TRUE, vcov=v)
   out$robust[[v]] <- list(se=num(s$se), dfs=num(s$dfs), pval=num(s$pval), QM=num(s$QM), QMdf=num(s$QMdf),
                           QMp=num(s$QMp), ci_lb=num(s$ci.lb))
}
s <- robust(r, cluster=dat$trial, clubSandwich=TRUE, wald_test="HTA")
out$robust$HTA <- list(QM=num(s$QM), QMdf=num(s$QMdf), QMp=num(s$QMp))

## selection models (metafor's default settings)
hk <- rma(yi, vi, data=dat.hackshaw1998, method="ML")
for (tp in c("beta", "halfnorm", "negexp", "logistic", "power", "negexppow")) {
   s <- suppressWarnings(selmodel(hk, type=tp))
   out$selmodel[[tp]] <- list(beta=num(s$beta), se=num(s$se), tau2=num(s$tau2), delta=num(s$delta),
                              se_delta=num(s$se.delta), ll=num(s$ll), LRT=num(s$LRT))
}
s <- selmodel(hk, type="stepfun", steps=c(0.025, 0.1, 0.5))
out$selmodel$stepfun <- list(beta=num(s$beta), se=num(s$se), tau2=num(s$tau2), delta=num(s$delta),
                             se_delta=num(s$se.delta), ll=num(s$ll), LRT=num(s$LRT), LRT_tau2=num(s$LRT.tau2))

## fail-safe N (metafor 3.8's types)
for (tp in c("Rosenthal", "Orwin", "Rosenberg")) {
   f <- fsn(yi, vi, data=dat.hackshaw1998, type=tp)
   out$fsn[[tp]] <- list(fsnum=num(f$fsnum), pval=if (is.na(f$pval)) NULL else num(f$pval))
}
out$fsn$Fisher <- list(fsnum=num(fsn(yi, vi, data=dat.hackshaw1998, test="Fisher")$fsnum))

## exact permutation tests with options, and permutation CIs
r <- rma(yi, vi, mods = ~ ablat, data=dat[1:8,], method="DL")
for (opt in list(list(alternative="two.sided", p2defn="abs", stat="test"),
                 list(alternative="two.sided", p2defn="px2", stat="coef"),
                 list(alternative="greater", p2defn="abs", stat="test"),
                 list(alternative="less", p2defn="abs", stat="coef"))) {
   p <- permutest(r, exact=TRUE, progbar=FALSE, control=opt)
   out$permutest[[paste(opt, collapse="_")]] <- list(pval=num(p$pval), QMp=num(p$QMp))
}
p <- permutest(rma(yi, vi, data=dat[1:9,], method="DL"), exact=TRUE, permci=TRUE, progbar=FALSE)
out$permci <- list(ci_lb=num(p$ci.lb), ci_ub=num(p$ci.ub))

## hat values, vcov types, BLUPs with prediction intervals
r <- rma(yi, vi, mods = ~ ablat, data=dat, control=CTRL)
out$diag <- list(hat=num(hatvalues(r)), vcov_obs=num(diag(vcov(r, type="obs"))),
                 vcov_fitted=num(diag(vcov(r, type="fitted"))), vcov_resid=num(diag(vcov(r, type="resid"))),
                 blup=num(blup(r)$pred), blup_pi_lb=num(blup(r)$pi.lb), ranef=num(ranef(r)$pred),
                 ranef_pi_ub=num(ranef(r)$pi.ub))

## escalc with subset and include; aggregate; fit statistics
e <- escalc(measure="OR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg, subset=2:9, include=c(2, 4, 6))
out$escalc_subset_include <- list(yi=num(e$yi), vi=num(e$vi))
ag <- aggregate(escalc(yi=yi, vi=vi, data=dat.assink2016), cluster=study, struct="CS", rho=0.5)
out$aggregate <- list(yi=num(ag$yi), vi=num(ag$vi))
r1 <- rma(yi, vi, data=dat, method="ML", control=CTRL); r2 <- rma(yi, vi, mods = ~ ablat, data=dat, method="ML", control=CTRL)
out$fitstats <- list(r1=num(unlist(fitstats(r1))), r2=num(unlist(fitstats(r2))))

cat(toJSON(out, digits=NA, auto_unbox=TRUE, null="null"), file="tests/meta/refs/refs_v2.json")
cat("wrote tests/meta/refs/refs_v2.json\n")
