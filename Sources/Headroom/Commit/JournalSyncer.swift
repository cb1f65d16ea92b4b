import Foundation

/// Journal mode's second thread: writes the journal entries the writer hands it, as many as
/// are waiting in one append and one sync, and then answers their callers; empties the journal
/// after each checkpoint. The writer goes on with the next batch meanwhile.
final class JournalSyncer: @unchecked Sendable {
    // @unchecked: `items`, `busy`, `stopping` and `failed` are guarded by `condition`.

    /// An encoded entry and the answers of the batch it journals.
    struct Entry {
        let bytes: [UInt8]
        let answers: [Result<Answer, HeadroomError>]
        /// Its lsn.
        var lsn: UInt64 = 0
    }

    enum Item {
        /// An entry and the batch it journals.
        case entry(Entry, [Ticket])
        /// Empty the journal: everything before this is in the store, committed and synced.
        case empty
    }

    /// Entries waiting at most: beyond, the writer waits (memory stays bounded).
    static let depthMax = 256

    private let file: any JournalWriting
    /// Write-behind: given each run of entries once on disk and answered, for the apply thread.
    private let synced: (([Entry]) -> Void)?
    private let condition = NSCondition()
    private var items: [Item] = []
    private var busy = false
    private var stopping = false
    private var failed: HeadroomError?
    private let finished = DispatchSemaphore(value: 0)

    /// Where each append-and-sync's duration is reported.
    private let telemetry: Telemetry?

    init(_ file: any JournalWriting, telemetry: Telemetry? = nil, synced: (([Entry]) -> Void)? = nil) {
        self.file = file
        self.telemetry = telemetry
        self.synced = synced
        startNamedThread("headroom-syncer") { [unowned self] in self.run() }
    }

    /// The failure that stopped journaling, if any: the writer then refuses everything.
    var failure: HeadroomError? {
        condition.lock()
        defer { condition.unlock() }
        return failed
    }

    func fail(_ error: HeadroomError) {
        condition.lock()
        if failed == nil { failed = error }
        condition.unlock()
    }

    func submit(_ item: Item) {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= Self.depthMax { condition.wait() }
        items.append(item)
        condition.broadcast()
    }

    /// Waits until everything submitted is written (or refused) and answered.
    func drain() {
        condition.lock()
        defer { condition.unlock() }
        while !items.isEmpty || busy { condition.wait() }
    }

    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
    }

    private func run() {
        while true {
            condition.lock()
            while items.isEmpty && !stopping { condition.wait() }
            if items.isEmpty {
                condition.unlock()
                break
            }
            let taken = items
            items.removeAll(keepingCapacity: true)
            busy = true
            let failedBefore = failed
            condition.broadcast()
            condition.unlock()
            write(taken, failedBefore)
            condition.lock()
            busy = false
            condition.broadcast()
            condition.unlock()
        }
        finished.signal()
    }

    /// Runs of entries go out in one append and sync; truncations in their place.
    private func write(_ taken: [Item], _ failedBefore: HeadroomError?) {
        var failure = failedBefore
        var i = 0
        while i < taken.count {
            if case .empty = taken[i] {
                if failure == nil {
                    do throws(HeadroomError) { try file.empty() } catch { failure = error; fail(error) }
                }
                i += 1
                continue
            }
            var bytes: [UInt8] = []
            var answered: [(Entry, [Ticket])] = []
            while i < taken.count, case .entry(let entry, let tickets) = taken[i] {
                bytes.append(contentsOf: entry.bytes)
                answered.append((entry, tickets))
                i += 1
            }
            if failure == nil {
                let began = Telemetry.now()
                do throws(HeadroomError) { try file.appendAndSync(bytes, through: answered[answered.count - 1].0.lsn) } catch {
                    failure = error
                    fail(error)
                }
                telemetry?.journalSyncDuration.recordNanoseconds(Int64(Telemetry.now() &- began))
            }
            for (entry, tickets) in answered {
                if let failure {
                    for ticket in tickets { ticket.deliver(.failure(failure)) }
                } else {
                    for (ticket, answer) in zip(tickets, entry.answers) { ticket.deliver(answer) }
                }
            }
            if failure == nil, let synced { synced(answered.map(\.0)) }
        }
    }
}
