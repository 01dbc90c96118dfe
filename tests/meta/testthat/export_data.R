## Write the metadat data sets that metafor's tests use to tests/meta/testthat/data/<name>.csv (published
## study-level data from the papers each data set cites; metadat 1.2-0).
## Usage: Rscript tests/meta/testthat/export_data.R tests/meta/testthat/data
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
suppressPackageStartupMessages(library(metadat))
names <- c("dat.bcg", "dat.normand1999", "dat.raudenbush1985", "dat.molloy2014", "dat.hackshaw1998",
           "dat.egger2001", "dat.mcdaniel1994", "dat.hine1989", "dat.bonett2010", "dat.nielweise2008",
           "dat.nielweise2007", "dat.knapp2017", "dat.kalaian1996", "dat.hart1999", "dat.dorn2007",
           "dat.debruin2009", "dat.craft2003", "dat.colditz1994", "dat.bangertdrowns2004", "dat.yusuf1985",
           "dat.pignon2000", "dat.linde2005", "dat.lee2004", "dat.laopaiboon2015", "dat.gibson2002",
           "dat.collins1985b", "dat.collins1985a", "dat.cohen1981", "dat.berkey1998", "dat.lipsey2001",
           "dat.morris2008", "dat.viechtbauer2005", "dat.lau1992", "dat.henmi2010", "dat.curtis1998",
           "dat.senn2013", "dat.hasselblad1998", "dat.ishak2007", "dat.konstantopoulos2011",
           "dat.assink2016", "dat.vanhowe1999", "dat.landenberger2005", "dat.riley2003")
for (nm in names) {
   ok <- tryCatch({ data(list = nm, package = "metadat", envir = environment()); TRUE }, warning = function(w) FALSE)
   if (!ok || !exists(nm)) { message("not in metadat: ", nm); next }
   d <- get(nm)
   write.csv(d, file.path(out, paste0(nm, ".csv")), row.names = FALSE, na = "")
}
