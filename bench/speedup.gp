# Renders bench_speedup's CSV as a log-log time-vs-N plot, one line per path.
#   gnuplot -e "csv='bench_speedup.csv'; out='speedup.png'" bench/speedup.gp
# Optional: title='...' (e.g. the build flavour and CPU); csv2='other.csv' with
# label='...' and label2='...' overlays a second build (dashed lines).
if (!exists("csv")) csv = 'bench_speedup.csv'
if (!exists("out")) out = 'speedup.png'
if (!exists("title")) title = 'aether: causal attention, 4 heads x 32 dims, one thread'
if (!exists("label")) label = ''
if (!exists("label2")) label2 = ''

set terminal pngcairo size 1150,600 enhanced font 'DejaVu Sans,11'
set output out
set datafile separator ','
set datafile missing 'nan'
set key autotitle columnhead
set logscale xy 2
set format y '10^{%L}'
set logscale y 10
set xlabel 'sequence length N (tokens)'
set ylabel 'time per forward call (ms)'
set title title
set grid xtics ytics mxtics mytics lc rgb '#dddddd'
set key outside right top box opaque
set xtics (64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384)

# CSV columns: 1 n, 2 naive_dense_ms (scalar baseline), 3 naive_dense_autovec_ms,
# 4 dense_ms, 5 sparse_ms, 6 sparse_raw_ms, 7 sparse_mqa_seed_ms, 8 sparse_mqa_def_ms, ...
if (!exists("csv2")) {
  plot csv using 1:2 with linespoints lw 2 pt 7 lc 1 title 'naive dense, scalar (baseline)'.label, \
       ''  using 1:3 with linespoints lw 2 pt 13 lc 6 title 'naive dense, auto-vectorised'.label, \
       ''  using 1:4 with linespoints lw 2 pt 5 lc 2 title 'dense (aether, Eigen)'.label, \
       ''  using 1:5 with linespoints lw 2 pt 9 lc 3 title 'sparse MHA (W16 B32)'.label, \
       ''  using 1:7 with linespoints lw 2 pt 11 lc 4 title 'sparse MQA (W16 B32)'.label
} else {
  plot csv using 1:2 with linespoints lw 2 pt 7 lc 1 title 'naive dense, scalar (baseline)'.label, \
       ''  using 1:3 with linespoints lw 2 pt 13 lc 6 title 'naive dense, auto-vectorised'.label, \
       ''  using 1:4 with linespoints lw 2 pt 5 lc 2 title 'dense (aether, Eigen)'.label, \
       ''  using 1:5 with linespoints lw 2 pt 9 lc 3 title 'sparse MHA (W16 B32)'.label, \
       ''  using 1:7 with linespoints lw 2 pt 11 lc 4 title 'sparse MQA (W16 B32)'.label, \
       csv2 using 1:2 with linespoints lw 1 dt 2 pt 6 lc 1 title 'naive dense, scalar'.label2, \
       ''   using 1:3 with linespoints lw 1 dt 2 pt 12 lc 6 title 'naive dense, auto-vec.'.label2, \
       ''   using 1:4 with linespoints lw 1 dt 2 pt 4 lc 2 title 'dense'.label2, \
       ''   using 1:5 with linespoints lw 1 dt 2 pt 8 lc 3 title 'sparse MHA'.label2, \
       ''   using 1:7 with linespoints lw 1 dt 2 pt 10 lc 4 title 'sparse MQA'.label2
}
