# Renders bench_speedup's CSV as a log-log time-vs-N plot, one line per path.
#   gnuplot -e "csv='bench_speedup.csv'; out='speedup.png'" bench/speedup.gp
# Optional: title='...' (e.g. the build flavour and CPU).
if (!exists("csv")) csv = 'bench_speedup.csv'
if (!exists("out")) out = 'speedup.png'
if (!exists("title")) title = 'aether: causal attention, 4 heads x 32 dims, one thread'

set terminal pngcairo size 900,600 enhanced font 'DejaVu Sans,11'
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
set key top left box opaque
set xtics (64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384)

# CSV columns: 1 n, 2 naive_dense_ms, 3 dense_ms, 4 sparse_ms, 5 sparse_raw_ms,
# 6 sparse_mqa_seed_ms, 7 sparse_mqa_def_ms, ...
plot csv using 1:2 with linespoints lw 2 pt 7 title 'naive dense (reference loop)', \
     ''  using 1:3 with linespoints lw 2 pt 5 title 'dense (aether, Eigen)', \
     ''  using 1:4 with linespoints lw 2 pt 9 title 'sparse MHA (W16 B32)', \
     ''  using 1:6 with linespoints lw 2 pt 11 title 'sparse MQA (W16 B32)'
