// Package anomaly scores metric series for anomalies, one point at a time.
//
// A Detector follows one series. Update(ts, v) returns a score in [0, 1]
// that depends only on the points seen so far (it is causal), and Explain
// says why: the baseline the point was compared with, the robust z-score,
// which sub-detector fired (spike, level shift or new pattern), the record
// a spike was judged against, the novelty of a pattern, and whether an event
// opened. The package is pure:
// no I/O, no clocks, no randomness; the same input gives the same scores.
//
// # Method
//
//  1. Baseline. The median and MAD of the last Config.Window points give a
//     robust level and scale. Two additive Holt-Winters models run beside it,
//     with a daily profile (144 ten-minute phases) and a weekly one (336
//     half-hour phases). Phases come from timestamps, so irregular sampling
//     keeps them aligned. A season is used only when it is detected: once it
//     has seen two full periods and its mean absolute error is below 70 % of
//     the rolling median's. Its robust scale is then the median absolute
//     residual of the last Window points. Learning clips residuals, so
//     anomalies bend baselines little.
//  2. Sub-detectors read the robust z-score z = (v − baseline) / scale.
//     Spike averages |z| over the last 2 points; LevelShift averages signed
//     z over the last 10. Each statistic is judged against its own history
//     (exponentially weighted mean and variance, half-life 2000 points) as a
//     Gaussian tail probability p, in the manner of Numenta's "anomaly
//     likelihood", and scored d/(d+5) with d = −log10(p) digits, so 0.5 is
//     one-in-10⁵ and the rarest events still rank apart. Because
//     each series is judged against its own history, one threshold serves
//     quiet and noisy series alike. LevelShift is two-sided (up or down).
//     Spike is judged against single-point |z|, which asks more of it, since
//     lone blips are the commonest false alarm. Spike is also judged
//     against the series' record, the largest |z| of roughly the last 8000
//     points: below 0.6 of it, its digits shrink in proportion, so a series
//     that routinely spikes high has to outdo itself to page. Pattern, after
//     ARTime's adaptive resonance, keeps 64 prototypes of the last 12
//     points' level and shape (in pairs of points, normalised by the range
//     of the last 8000 points) and scores a window that resonates with none
//     of them, after 12 windows that all did, if its distance is also two
//     standard deviations above the series' usual one; it sees a changed
//     rhythm at familiar values, which z-scores cannot. The raw score is the
//     largest of the three, and Explanation.Signal names which.
//  3. Events. The first Config.Warmup points score 0. A point scoring at
//     least Config.AlertLevel opens an event. The next Config.Hold points are
//     capped just below AlertLevel, so one incident raises one alert, not a
//     burst.
//  4. Gaps. The sampling step is the median of the last 9 timestamp deltas.
//     Up to Config.MaxFill missing points are filled by linear interpolation
//     (filled points teach the baselines, not the score calibration). A gap of
//     more than Config.ResetGap steps resets the detector.
//
// # Cost
//
// Per-series state is bounded and fixed at New: 20120 bytes with
// DefaultConfig (two 256-point windows, each kept in arrival order and
// sorted, 4 KiB apiece; 3.8 KiB of seasonal profiles; 6.4 KiB of pattern
// prototypes; the rest small), and 32·Window + 11928 bytes in general.
// Update does not allocate and takes about 0.67 µs of CPU per point
// (BenchmarkUpdate: 1.5 million points per second on one core).
//
// # Benchmark
//
// DefaultConfig was chosen on the Numenta Anomaly Benchmark (bench/nab) with
// one configuration for the whole corpus. It scores 69.8 standard, 59.0
// reward-low-FP and 75.2 reward-low-FN (ARTime 74.9 / 65.2 / 80.4, Numenta
// HTM 70.5 / 62.6 / 75.2, CAD OSE 69.9 / 67.0 / 73.2, windowed Gaussian
// 39.6 / 20.9 / 47.4).
package anomaly
