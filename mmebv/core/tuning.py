"""The tuned constants of EBV generation (:mod:`.generate`), in one place.

Each value trades search time for quality; the measurements behind them, with
the commands that produced them, are on the generation benchmark page
(``benchmarks/ebv_generation.py``). Work is counted in units of N^2 d: a
dense optimiser pass over N vectors in d dimensions costs about 1.7 N^2 d
multiply-adds (:func:`.optimize.pass_block_rows`).
"""

#: Optimiser budget of a default run, in units of N^2 d, so that every
#: default run costs about the same: N = 3000, d = 1000 gets 300 passes.
DEFAULT_WORK = 2.7e12
#: Pass budget bounds when neither ``max_steps`` nor the work budget decides.
MIN_STEPS, MAX_STEPS = 100, 1000
#: With a default budget of fewer passes than this the optimiser cannot beat
#: a Kerdock set from a random start, and is not run.
MIN_USEFUL_STEPS = 100
#: Small problems get RESTART_WORK / (N^2 d) restarts (at most
#: MAX_RESTARTS); up to N^2 d = LBFGS_WORK they run the float64 L-BFGS
#: optimiser (it holds the N x N Gram matrix and its graph).
RESTART_WORK, MAX_RESTARTS, LBFGS_WORK = 1e6, 32, 1e6
#: Up to N^2 d = STRUCTURED_WORK the random restarts are followed by
#: restarts // STRUCTURED_DIVISOR rounds of the structured starts of
#: :func:`.starts.structured_starts` (alternating projection costs 2000
#: N x N eigendecompositions), then as many rounds of
#: :func:`.starts.orbit_starts`; larger problems start from random rows only.
STRUCTURED_WORK, STRUCTURED_DIVISOR = 1e5, 6
#: A construction of R^(d+1) is descended into R^d (:mod:`.descent`) only
#: when N is at least DESCENT_FRACTION of its rows (40 lines in R^12 from
#: the 52 in R^13 are 0.77 of them); fewer rows chosen from it are about
#: random, and cost half a minute (19 lines in R^15 from 144 in R^16: 0.140,
#: 0.132 from the optimiser).
DESCENT_FRACTION = 0.5
#: Up to N^2 d = STRUCTURED_WORK, SLOW_RESTARTS random starts optimised
#: slowly (:func:`.starts.slow_start`, 1.6 s each on a Xeon core, median
#: over 83 small cases) make a candidate of their own.
SLOW_RESTARTS = 8
#: Up to N^2 d = POLISH_WORK the best candidates are polished to their
#: basins' minimax (:func:`.optimize.polish_coherence`, about 7 restarts'
#: worth of L-BFGS iterations each; 13 lines in R^11: 1.0011 -> 1.0000
#: times the best known, under 1 s).
POLISH_WORK = 1e5
#: The POLISHED_CANDIDATES best candidates are polished: the slow starts'
#: best can polish to a higher minimax than the other starts' best (23 lines
#: in R^6, the best alone polished: 1.0015 times the best known, 1.0013
#: without slow starts), so polishing both keeps every result at least as
#: good as from the other candidates alone.
POLISHED_CANDIDATES = 2
#: Up to N^2 d = POLISH_WORK the polished best then gets RELOCATION_MOVES
#: relocation moves (:func:`.relocation.relocation_search`, 0.1-2 s each
#: on an EPYC core; of 17 small cases 0.11-0.32% above the best known, 9
#: moves brought 5 within 0.1% of it, each by its sixth move), and
#: QUICK_RELOCATION_MOVES more, polished only when they leave the best set's
#: layout close to its max |cos| (0.1-0.3 s each when not polished; with
#: faster descent squeezes, sweep median 1.0013 -> 1.00094).
RELOCATION_MOVES = 6
QUICK_RELOCATION_MOVES = 6
#: Below this N^2 d the optimiser runs on one thread (overhead dominates).
SINGLE_THREAD_WORK = 1e7
#: Extension: random candidates scored for each new row (about
#: PLACEMENT_WORK / (extra rows x N x d) of them, at most MAX_PLACEMENTS);
#: the best of them (about HOLE_WORK / (extra rows x N x d) of them, at most
#: MAX_HOLES) are moved into holes of the rows before
#: (:func:`.optimize.deepen_holes`) and the deepest is kept (500 -> 550 rows
#: in R^100: 16 per row).
PLACEMENT_WORK, MAX_PLACEMENTS = 1e10, 4096
HOLE_WORK, MAX_HOLES = 5e7, 16
#: The first optimiser start is the largest Paley ETF that fits (zero-padded,
#: the other rows random) when it holds at least SEED_FRACTION of the N rows
#: and spans SEED_FRACTION of the d dimensions; it starts at p = SEED_P_START,
#: which keeps its structure (N = 1000, d = 500: 0.032 from the 998-vector
#: ETF in R^499, 0.034 from random).
SEED_FRACTION, SEED_P_START = 0.9, 32.0
#: Extension restarts start from placed rows, so need fewer: this divides
#: :func:`.generate.default_restarts`.
EXTENSION_RESTART_DIVISOR = 4
