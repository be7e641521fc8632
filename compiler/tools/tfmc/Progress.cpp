//===- Progress.cpp - tfmc's phases on stderr -----------------------------===//

#include "Progress.h"

#include "llvm/Support/Format.h"

#include <sys/resource.h>

namespace tfm {

namespace {

const char *const kPhaseNames[Progress::NumPhases] = {
    "import", "graph", "passes", "weights", "LLVM", "link"};

/// tfmc's peak resident set size so far, in KiB (Linux reports KiB).
int64_t peakRssKiB() {
  struct rusage usage;
  return getrusage(RUSAGE_SELF, &usage) == 0 ? usage.ru_maxrss : 0;
}

} // namespace

Progress::Progress(llvm::raw_ostream &os, bool show, bool timings, double after)
    : os(os), show(show), timings(timings), terminal(os.is_displayed()),
      after(after), start(Clock::now()), phaseStart(start), lastReport(start) {
  if (show)
    watcher = std::thread([this] { watch(); });
}

Progress::~Progress() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    done = true;
    if (lineOpen)
      os << "\n";
    lineOpen = false;
  }
  wake.notify_all();
  if (watcher.joinable())
    watcher.join();
}

double Progress::seconds(Clock::time_point t) const {
  return std::chrono::duration<double>(t - start).count();
}

void Progress::watch() {
  std::unique_lock<std::mutex> lock(mutex);
  auto when = start + std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>(after));
  wake.wait_until(lock, when, [&] { return done; });
  if (done)
    return;
  shown = true;
  if (reported != current)
    report(/*force=*/true);
}

void Progress::endPhase() {
  if (current < 0)
    return;
  Clock::time_point now = Clock::now();
  wall[current] += std::chrono::duration<double>(now - phaseStart).count();
  peakKiB[current] = peakRssKiB();
  ran[current] = true;
  current = -1;
}

void Progress::begin(Phase phase) {
  std::lock_guard<std::mutex> lock(mutex);
  endPhase();
  current = phase;
  phaseStart = Clock::now();
  weightsDone = weightsTotal = 0;
  if (!shown && show && seconds(phaseStart) >= after)
    shown = true;
  if (reported != current)
    report(/*force=*/true);
}

void Progress::weights(uint64_t done, uint64_t total) {
  std::lock_guard<std::mutex> lock(mutex);
  weightsDone = done;
  weightsTotal = total;
  report(/*force=*/false);
}

void Progress::report(bool force) {
  if (!shown || current < 0)
    return;
  Clock::time_point now = Clock::now();
  // Weights updates: 10 a second on a terminal, 1 a second in a log.
  double gap = std::chrono::duration<double>(now - lastReport).count();
  if (!force && gap < (terminal ? 0.1 : 1.0))
    return;
  lastReport = now;
  reported = current;
  std::string line;
  llvm::raw_string_ostream text(line);
  text << "tfmc: [" << current + 1 << "/" << NumPhases << "] "
       << kPhaseNames[current];
  if (current == Weights && weightsTotal)
    text << " " << (weightsDone >> 20) << " of " << (weightsTotal >> 20)
         << " MB";
  if (terminal) {
    // Back to the start of the line and clear it.
    os << "\r\x1b[K" << line << llvm::format("  %.1f s", seconds(now));
    lineOpen = true;
  } else {
    os << line << "\n";
  }
  os.flush();
}

void Progress::interrupt() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (lineOpen)
      os << "\n";
    lineOpen = false;
    done = true;
    shown = false;
  }
  wake.notify_all();
}

void Progress::finish() {
  std::lock_guard<std::mutex> lock(mutex);
  endPhase();
  if (lineOpen) {
    os << "\n";
    lineOpen = false;
  }
  done = true;
  wake.notify_all();
  if (!timings)
    return;
  double total = 0;
  os << "phase          wall s   peak RSS MiB\n";
  for (int p = 0; p < NumPhases; ++p) {
    if (!ran[p])
      continue;
    total += wall[p];
    os << llvm::format("%-10s %10.3f %14.1f\n", kPhaseNames[p], wall[p],
                       peakKiB[p] / 1024.0);
  }
  os << llvm::format("%-10s %10.3f %14.1f\n",
                     static_cast<const char *>("total"), total,
                     peakRssKiB() / 1024.0);
  os.flush();
}

} // namespace tfm
