//===- Progress.h - tfmc's phases on stderr ---------------------*- C++ -*-===//
//
// A compile of a real-size model takes seconds to minutes; Progress says
// what tfmc is doing once it has run for more than about a second:
//
//   tfmc: [4/6] weights 1200 of 4400 MB
//
// On a terminal that is one line, rewritten in place ('\r'); otherwise one
// plain line per phase, and for the weights at most one a second. A compile
// that ends sooner prints nothing. `--timings` adds a table of every phase
// that ran: its wall time and tfmc's peak resident set size at its end.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TOOLS_TFMC_PROGRESS_H
#define TFM_TOOLS_TFMC_PROGRESS_H

#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace tfm {

class Progress {
public:
  /// In the order tfmc runs them.
  enum Phase { Import, Graph, Passes, Weights, LLVM, Link, NumPhases };

  /// `show`: print phases once `after` seconds have passed; `timings`: print
  /// the table at finish(). Reports go to `os` (stderr).
  Progress(llvm::raw_ostream &os, bool show, bool timings, double after);
  ~Progress();

  /// Ends the running phase, if any, and starts `phase`.
  void begin(Phase phase);
  /// Bytes of weights written so far, of `total` (during Weights).
  void weights(uint64_t done, uint64_t total);
  /// Ends the running phase; prints the table if asked. Call on success.
  void finish();
  /// Before an error message: ends the terminal line and stops reporting.
  void interrupt();

private:
  using Clock = std::chrono::steady_clock;
  double seconds(Clock::time_point t) const;
  void endPhase();
  /// Prints the running phase (mutex held).
  void report(bool force);
  void watch();

  llvm::raw_ostream &os;
  const bool show, timings, terminal;
  const double after;
  Clock::time_point start, phaseStart, lastReport;
  int current = -1;
  int reported = -1;     ///< The last phase a report named.
  bool shown = false;    ///< `after` has passed: reports are printed.
  bool lineOpen = false; ///< A terminal line waits for its '\n'.
  bool done = false;
  uint64_t weightsDone = 0, weightsTotal = 0;
  double wall[NumPhases] = {};
  int64_t peakKiB[NumPhases] = {};
  bool ran[NumPhases] = {};
  std::mutex mutex;
  std::condition_variable wake;
  std::thread watcher; ///< Shows the running phase when `after` passes.
};

} // namespace tfm

#endif // TFM_TOOLS_TFMC_PROGRESS_H
