## Record every testthat assertion of metafor's own test suite, with the value metafor computes and the value
## the test expects, so that tests/meta/test_metafor_testthat.py can check regrow.meta against the same
## assertions.
##
## Usage (metafor 3.8-1's tests, the version installed here):
##   git -C <metafor checkout> archive 38599b48 tests/testthat | tar -x -C /tmp/mf38
##   Rscript tests/meta/testthat/extract_metafor_tests.R /tmp/mf38/tests/testthat tests/meta/testthat/assertions.json
##
## Each expect_*() call is rewritten (on the parsed code, not the text) into a call to .record(), which
## evaluates the object and the expected value, records them and the tolerance, and never stops the run.
## The id of an assertion is "<file>:<line>" of the expect_ call, with "#n" for the n-th evaluation when a
## loop runs it more than once. The test_that() block's code decides the category: "mv" (rma.mv, vcalc),
## "glmm" (rma.glmm), "plot" (graphics only) or "uni" (everything else).

args <- commandArgs(trailingOnly = TRUE)
test_dir <- args[1]
out_file <- args[2]

suppressPackageStartupMessages({
   library(metafor)
   library(jsonlite)
})

records <- list()
.counts <- new.env()
.current <- new.env()

num_or_text <- function(x) {
   if (is.null(x)) return(NULL)
   if (inherits(x, "try-error")) return(list(error = as.character(x)))
   if (is.list(x) && !is.data.frame(x)) x <- unlist(x)
   if (is.data.frame(x)) x <- as.matrix(x)
   if (is.factor(x)) x <- as.character(x)
   if (is.logical(x) || is.numeric(x) || is.character(x)) {
      v <- as.vector(x)
      if (is.numeric(v)) v <- ifelse(is.na(v), NA, v)
      return(list(values = v, names = if (is.null(names(x))) NULL else names(x), dim = dim(x)))
   }
   list(class = class(x)[1])
}

.record <- function(id, kind, object_expr, expected_expr, tolerance_expr, env) {
   n <- if (is.null(.counts[[id]])) 1L else .counts[[id]] + 1L
   .counts[[id]] <- n
   key <- if (n == 1L) id else paste0(id, "#", n)
   rec <- list(id = key, kind = kind, test = .current$desc,
               category = category_of_assertion(object_expr, env, .current$category),
               block_category = .current$category,
               code = paste(deparse(object_expr, width.cutoff = 500L), collapse = " "),
               expected_code = if (is.null(expected_expr)) NULL else paste(deparse(expected_expr, width.cutoff = 500L), collapse = " "))
   if (kind %in% c("expect_error", "expect_warning")) {
      warned <- FALSE; failed <- FALSE; msg <- NULL
      withCallingHandlers(
         tryCatch(eval(object_expr, env), error = function(e) { failed <<- TRUE; msg <<- conditionMessage(e) }),
         warning = function(w) { warned <<- TRUE; msg <<- conditionMessage(w); invokeRestart("muffleWarning") })
      rec$outcome <- list(error = failed, warning = warned, message = msg)
   } else {
      object <- try(suppressWarnings(eval(object_expr, env)), silent = TRUE)
      expected <- if (is.null(expected_expr)) NULL else try(eval(expected_expr, env), silent = TRUE)
      tol <- if (is.null(tolerance_expr)) NULL else eval(tolerance_expr, env)
      rec$object <- num_or_text(object)
      rec$expected <- num_or_text(expected)
      rec$tolerance <- tol
      rec$metafor_passes <- isTRUE(tryCatch({
         if (kind == "expect_equivalent") isTRUE(all.equal(object, expected, tolerance = if (is.null(tol)) 1.5e-8 else tol, check.attributes = FALSE))
         else if (kind %in% c("expect_equal")) isTRUE(all.equal(object, expected, tolerance = if (is.null(tol)) 1.5e-8 else tol))
         else if (kind == "expect_identical") identical(object, expected)
         else if (kind == "expect_true") isTRUE(object)
         else if (kind == "expect_null") is.null(object)
         else NA
      }, error = function(e) FALSE))
   }
   records[[length(records) + 1L]] <<- rec
   invisible(NULL)
}

rewrite <- function(e, line, file) {
   if (is.call(e)) {
      fn <- e[[1]]
      if (is.name(fn) && startsWith(as.character(fn), "expect_")) {
         kind <- as.character(fn)
         a <- as.list(e)[-1]
         nm <- names(a); if (is.null(nm)) nm <- rep("", length(a))
         pos <- which(nm == "")
         object <- if (length(pos) >= 1) a[[pos[1]]] else a[["object"]]
         expected <- if (!is.null(a[["expected"]])) a[["expected"]] else if (length(pos) >= 2) a[[pos[2]]] else NULL
         if (kind == "expect_that") { kind <- "expect_that"; expected <- NULL }
         tol <- a[["tolerance"]]
         if (kind %in% c("expect_error", "expect_warning")) expected <- NULL
         return(bquote(.record(.(paste0(file, ":", line)), .(kind), quote(.(object)),
                               .(if (is.null(expected)) NULL else call("quote", expected)),
                               .(if (is.null(tol)) NULL else call("quote", tol)), environment())))
      }
      if (identical(fn, as.name("{"))) {
         refs <- attr(e, "srcref")
         for (i in seq_along(e)[-1]) {
            l <- if (!is.null(refs) && length(refs) >= i) refs[[i]][1] else line
            if (is.call(e[[i]])) e[[i]] <- rewrite(e[[i]], l, file)
         }
         return(e)
      }
      for (i in seq_along(e)[-1]) if (is.call(e[[i]])) e[[i]] <- rewrite(e[[i]], line, file)
   }
   e
}

category_of <- function(code) {
   txt <- paste(deparse(code, width.cutoff = 500L), collapse = "\n")
   if (grepl("rma\\.mv|vcalc\\(|rma\\.glmm", txt)) return(if (grepl("rma\\.glmm", txt) && !grepl("rma\\.mv", txt)) "glmm" else "mv")
   if (grepl("\\b(forest|funnel|plot|baujat|gosh|labbe|qqnorm|radial|regplot|llplot|addpoly|png|dev\\.off|profile)\\(", txt, perl = TRUE)) return("plot")
   "uni"
}

## The category of one assertion: by the classes of the objects it reads (an rma.mv or rma.glmm fit, or a
## uni-variate one), else by its test block; a bare TRUE is a "placeholder" (a plot test's stand-in when it is
## in a block that draws, which makes it a "plot" assertion).
UNI_CLASSES <- c("rma.uni", "rma.mh", "rma.peto", "rma.ls", "rma.uni.selmodel", "escalc")
category_of_assertion <- function(object_expr, env, block) {
   if (isTRUE(object_expr)) return(if (block == "plot") "plot" else "placeholder")
   fns <- all.names(object_expr)
   vars <- intersect(all.vars(object_expr), ls(env, all.names = TRUE))
   cls <- unlist(lapply(vars, function(v) class(get(v, envir = env))))
   if (any(cls == "rma.mv") || any(fns %in% c("rma.mv", "vcalc"))) return("mv")
   if (any(cls == "rma.glmm") || any(fns == "rma.glmm")) return("glmm")
   if (any(cls %in% UNI_CLASSES)) return("uni")
   if (block == "plot") return("uni")
   block
}

test_that <- function(desc, code) {
   code <- substitute(code)
   .current$desc <- desc
   .current$category <- category_of(code)
   env <- new.env(parent = .file_env)
   tryCatch(eval(code, env), error = function(e) message(sprintf("  [%s] %s: %s", .current$file, desc, conditionMessage(e))))
}
context <- function(...) invisible(NULL)
skip_on_cran <- function(...) invisible(NULL)
skip <- function(...) invisible(NULL)
expect_doppelganger <- function(...) invisible(NULL)

files <- sort(list.files(test_dir, pattern = "^test_.*\\.r$"))
old <- setwd(test_dir)
for (f in files) {
   .current$file <- f
   message(f)
   exprs <- parse(f, keep.source = TRUE)
   refs <- attr(exprs, "srcref")
   .file_env <- new.env(parent = globalenv())
   for (i in seq_along(exprs)) {
      e <- rewrite(exprs[[i]], refs[[i]][1], f)
      .current$category <- category_of(exprs[[i]])
      .current$desc <- NULL
      pdf(NULL)
      tryCatch(eval(e, .file_env), error = function(err) message(sprintf("  [%s] top level: %s", f, conditionMessage(err))))
      while (!is.null(dev.list())) dev.off()
   }
}
setwd(old)

writeLines(toJSON(list(metafor_version = as.character(packageVersion("metafor")),
                       source = "metafor 3.8-1 tests/testthat (git 38599b48)",
                       assertions = records),
                  auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE), out_file)
message(length(records), " assertions recorded")
