import Dispatch
import Foundation

/// Ctrl-C (SIGINT) and SIGTERM during a long command: the steps registered with ``onStop(_:)``
/// run (the last first: answer what is in flight, say what was done, remove a scratch copy),
/// then the process exits with 128 + the signal's number, as a shell expects. Without it a
/// signal ends the process at once, leaving scratch copies and no summary.
final class Interruption: @unchecked Sendable {
    // @unchecked: `steps` is guarded by `lock`; `sources` is set in init and read in cancel, on one thread.
    private let lock = NSLock()
    private var steps: [() -> Void] = []
    private var sources: [DispatchSourceSignal] = []

    init() {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)  // delivered to the source below instead
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [unowned self] in self.stop(number) }
            source.resume()
            sources.append(source)
        }
    }

    /// Adds a step to run when a signal comes.
    func onStop(_ step: @escaping () -> Void) {
        lock.withLock { steps.append(step) }
    }

    /// The command ended by itself: signals act as usual again.
    func cancel() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    private func stop(_ number: Int32) {
        lock.lock()  // held to the exit: a second signal waits here
        endProgress()
        warn("interrupted by \(number == SIGINT ? "SIGINT (Ctrl-C)" : "SIGTERM")")
        for step in steps.reversed() { step() }
        exit(128 + number)
    }
}
