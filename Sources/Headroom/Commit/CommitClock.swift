import Foundation

/// The one clock group commit's deadlines are set and waited on (a batch's gathering time, a
/// checkpoint interval's end): monotonic nanoseconds. Injected, so that tests move time by hand.
protocol CommitClock: Sendable {
    /// Now, in nanoseconds since an arbitrary start; never goes back.
    func nanoseconds() -> UInt64
    /// Waits on `condition`, which the caller holds locked, until it is signalled or the clock
    /// reaches `deadline`; answers `false` when the deadline came first.
    func wait(_ condition: NSCondition, until deadline: UInt64) -> Bool
}

/// The system's monotonic clock.
struct SystemCommitClock: CommitClock {
    func nanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    func wait(_ condition: NSCondition, until deadline: UInt64) -> Bool {
        let now = nanoseconds()
        guard deadline > now else { return false }
        return condition.wait(until: Date(timeIntervalSinceNow: Double(deadline - now) / 1e9))
    }
}
