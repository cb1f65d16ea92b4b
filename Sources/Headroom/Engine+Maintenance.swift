import Foundation
import HeadroomCore
import HeadroomRules
import LMDBKit

/// What ``Engine/check(progress:)`` found.
public struct CheckReport: Sendable {
    /// Payment and refund records read.
    public var records = 0
    /// Authorized payments still holding their reservation.
    public var liveReservations = 0
    /// Counter cells read.
    public var counterCells = 0
    /// Each mismatch between the counters and the payments on record; empty when sound.
    public var problems: [String] = []
}

/// Facts about a store.
public struct StoreFacts: Sendable {
    /// The store's directory.
    public let path: String
    /// The memory map's size now, in bytes (it doubles when full).
    public let mapSizeBytes: Int
    /// The bytes the store's pages use.
    public let usedBytes: Int
    /// LMDB's page size.
    public let pageSizeBytes: Int
    /// Reader slots in use, by every process that has the store open.
    public let readersUsed: Int
    /// Payment and refund records.
    public let records: Int
    /// Counter cells.
    public let counterCells: Int
    /// Customers' card limits set.
    public let cardLimits: Int
    /// Authorized payments waiting for their hold to end (the expiry index), and the first end.
    public let heldReservations: Int
    /// When the first held reservation's hold ends (unix seconds); `nil` when none is held.
    public let nextHoldEnd: Int64?
    /// The rule set in force.
    public let ruleSetVersion: UInt32
    /// The day before which a purge removed everything, if one ran.
    public let purgedBeforeDay: Int32?
    /// The store's schema version.
    public let schemaVersion: UInt32
}

/// What ``Engine/purge(today:by:dryRun:)`` removed (or, in a dry run, would remove).
public struct PurgeReport: Sendable {
    /// Cells and records that closed before this natural day are gone.
    public let horizonDay: Int32
    /// Counter cells removed (or that would be).
    public let counterCellsRemoved: Int
    /// Records removed (or that would be).
    public let recordsRemoved: Int
    /// Reservations authorized before the horizon and never confirmed or released: they still
    /// hold limit, so they stay (release them, or let reconciliation settle them).
    public let reservationsKept: Int
    /// Nothing was removed: the figures say what a purge would remove.
    public let dryRun: Bool
}

extension Engine {
    /// Verifies the store's central invariant: every counter cell equals the sum of the live
    /// reservations on record that it holds (less what refunds gave back to it). It reads one
    /// snapshot, so engines may go on writing meanwhile. `progress` is called now and then with
    /// the number of records and cells read.
    public func check(progress: (Int) -> Void = { _ in }) throws(HeadroomError) -> CheckReport {
        let txn = try store.beginRead()
        let purgedBefore = try purgeHorizon(txn)
        var report = CheckReport()
        var expected: [CounterKey: CounterValue] = [:]
        var held: Set<[UInt8]> = []  // the expiry keys the records call for
        try forEach(txn, .payments) { (key, value) throws(HeadroomError) in
            report.records += 1
            if report.records % 10_000 == 0 { progress(report.records) }
            guard let record = PaymentRecord(bytes: value) else { throw HeadroomError(.corrupted, "a payment record does not decode") }
            let id = String(decoding: key, as: UTF8.self)
            if record.heldUntil != 0 {
                if record.state == .authorized || record.state == .challenged {
                    held.insert(try Store.withExpiryKey(record.heldUntil, id) { Array($0) })
                } else {
                    report.problems.append("\(id) is \(record.state.name) and still has a hold time")
                }
            }
            let holds = record.holdsLimit
            if holds { report.liveReservations += 1 }
            for update in record.counters where update.key.deadFromDay > purgedBefore && (holds || update.countsAttempts) {
                let held = record.held(on: update)
                let sum = (expected[update.key] ?? .zero).adding(amountFen: held.amountFen, count: held.count)
                guard let sum else { throw HeadroomError(.counterOverflow, "expected counter overflows") }
                expected[update.key] = sum
            }
        }
        try forEach(txn, .counters) { (key, value) throws(HeadroomError) in
            report.counterCells += 1
            if report.counterCells % 10_000 == 0 { progress(report.records + report.counterCells) }
            guard let key = CounterKey(bytes: key), let value = CounterValue(bytes: value) else {
                report.problems.append("a counter cell does not decode")
                return
            }
            let want = expected.removeValue(forKey: key) ?? .zero
            if want != value {
                report.problems.append("cell \(describe(key)) holds \(Amount.plain(value.amountFen)) / \(value.count); the records say \(Amount.plain(want.amountFen)) / \(want.count)")
            }
        }
        for (key, want) in expected where !want.isZero {
            report.problems.append("cell \(describe(key)) is missing; the records say \(Amount.plain(want.amountFen)) / \(want.count)")
        }
        // The expiry index holds exactly the held payments, each under its own hold time.
        try forEach(txn, .expiry) { (key, _) throws(HeadroomError) in
            if held.remove(Array(key)) == nil {
                report.problems.append("the expiry index names \(Store.expiryID(key)), which holds no reservation until then")
            }
        }
        for key in held.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            report.problems.append("\(key.withUnsafeBytes(Store.expiryID)) holds a reservation the expiry index lacks: it would never expire")
        }
        return report
    }

    /// Removes what can no longer matter: counter cells whose window closed more than
    /// `recordRetentionDays` before `today`, and payment records all of whose cells are gone
    /// (declined and released ones once their day is that old). Later refunds of those windows
    /// give nothing back to them.
    ///
    /// Never removed: a reservation still authorized (it holds limit until it is confirmed or
    /// released), nor any record younger than the retention (at least 31 days, far past the
    /// span in which NetsUnion retries an id or reconciles a batch: a retry must find its first
    /// answer). `today` may not be after the engine's clock: a cut-off from a day that has not
    /// come would remove live counters, and payments replayed afterwards would count again.
    /// - Parameters:
    ///   - today: the day (a day number, UTC+8) the retention counts back from; not after the
    ///     clock's day.
    ///   - name: the operator, for the audit log.
    ///   - dryRun: count what would go, in a read transaction; change nothing, record nothing
    ///     in the audit log.
    /// - Throws: `invalidInput` for a `today` after the clock's day; `operatorRequired`.
    public func purge(today: Int32, by name: String, dryRun: Bool = false) throws(HeadroomError) -> PurgeReport {
        try ruleBook.requireName(name)
        let clockDay = Timestamp(unixSeconds: options.clock()).chinaDay
        guard today <= clockDay else {
            throw HeadroomError(.invalidInput, "the purge day \(ChinaTime.dateString(day: today)) is after today (\(ChinaTime.dateString(day: clockDay)) by the clock): a purge counts from a day that has come")
        }
        let horizon = today - Int32(options.recordRetentionDays)
        let cellGoes = { (key: UnsafeRawBufferPointer, _: UnsafeRawBufferPointer) -> Bool in
            (CounterKey(bytes: key)?.deadFromDay ?? .max) <= horizon
        }
        var kept = 0
        let recordGoes = { (_: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool in
            guard let record = PaymentRecord(bytes: value), record.deadFromDay <= horizon, record.time.chinaDay < horizon else { return false }
            if record.kind == .payment && (record.state == .authorized || record.state == .challenged) {
                kept += 1
                return false
            }
            return true
        }
        if dryRun {
            let txn = try store.beginRead()
            let cells = try countWhere(txn, .counters, cellGoes)
            let records = try countWhere(txn, .payments, recordGoes)
            return PurgeReport(horizonDay: horizon, counterCellsRemoved: cells, recordsRemoved: records, reservationsKept: kept, dryRun: true)
        }
        let txn = try store.beginWrite()
        let cells = try txn.deleteWhere(.counters, cellGoes)
        let records = try txn.deleteWhere(.payments, recordGoes)
        if horizon > (try purgeHorizon(txn)) {
            try store.putMetaInteger(txn, .purgedBeforeDay, Int64(horizon))
        }
        try AuditLog.append(store, txn, time: options.clock(), operatorName: name, action: "store.purge",
                            detail: "before \(ChinaTime.dateString(day: horizon)): \(cells) counter cells, \(records) records; \(kept) authorized reservations kept")
        try txn.commit()
        logger.info("purged", metadata: ["before": "\(ChinaTime.dateString(day: horizon))", "cells": "\(cells)", "records": "\(records)"])
        return PurgeReport(horizonDay: horizon, counterCellsRemoved: cells, recordsRemoved: records, reservationsKept: kept, dryRun: false)
    }

    /// How many entries of `db` satisfy `predicate`, read in `txn`.
    func countWhere(_ txn: borrowing StoreTransaction, _ table: Table,
                    _ predicate: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) throws(HeadroomError) -> Int {
        var count = 0
        try forEach(txn, table) { key, value in
            if predicate(key, value) { count += 1 }
        }
        return count
    }

    /// Facts about the store for operators.
    public func facts() throws(HeadroomError) -> StoreFacts {
        let stats = try statistics()
        let txn = try store.beginRead()
        let records = try txn.count(.payments), cells = try txn.count(.counters), cards = try txn.count(.cards)
        let held = try store.expiryFacts(txn)
        return StoreFacts(
            path: path, mapSizeBytes: stats.mapSizeBytes, usedBytes: stats.usedBytes, pageSizeBytes: stats.pageSizeBytes,
            readersUsed: stats.readersUsed, records: records, counterCells: cells, cardLimits: cards,
            heldReservations: held.count, nextHoldEnd: held.earliest,
            ruleSetVersion: try RuleSetHistory.currentVersion(store, txn) ?? 0,
            purgedBeforeDay: try store.metaInteger(txn, .purgedBeforeDay).map { Int32($0) },
            schemaVersion: Store.schemaVersion)
    }

    /// Writes a consistent, compacted copy of the store into `directory` (created; must be
    /// empty) while engines go on writing. The card key is not in it: back it up apart.
    public func backup(to directory: String) throws(HeadroomError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw HeadroomError(.storage, "cannot create \(directory): \(fileErrorReason(error))")
        }
        if FileManager.default.fileExists(atPath: directory + "/data.mdb") {
            throw HeadroomError(.storage, "\(directory) already holds a store: back up into an empty directory")
        }
        try lmdb { () throws(LMDBError) in try store.environment.copy(to: directory, compact: true) }
        // LMDB creates the copy with the process's umask: the copy is as private as the store.
        guard chmod(directory + "/data.mdb", 0o600) == 0 else {
            throw HeadroomError(.storage, "cannot make the copy \(directory)/data.mdb private (mode 0600): \(String(cString: strerror(errno)))")
        }
        // The copy is a store of its own: no journal of the live store's committer is its.
        let copy = try Store.open(directory, .init(mapSizeBytes: store.environment.options.mapSizeBytes))
        let txn = try copy.beginWrite(applyingJournal: false)
        try copy.deleteMeta(txn, .journalFile)
        try copy.deleteMeta(txn, .journalRing)
        try txn.commit()
    }

    /// The sum of every cell of each counter definition (by `CounterDefinition.id`): what a
    /// benchmark or an auditor compares with the payments it knows were approved.
    public func counterTotals() throws(HeadroomError) -> [UInt64: CounterValue] {
        var totals: [UInt64: CounterValue] = [:]
        for (key, value) in try counterCells() {
            guard let sum = (totals[key.definition] ?? .zero).adding(amountFen: value.amountFen, count: value.count) else {
                throw HeadroomError(.counterOverflow, "a counter total overflows")
            }
            totals[key.definition] = sum
        }
        return totals
    }

    /// Every counter cell, for tests and diagnostics.
    func counterCells() throws(HeadroomError) -> [CounterKey: CounterValue] {
        let txn = try store.beginRead()
        var cells: [CounterKey: CounterValue] = [:]
        try forEach(txn, .counters) { (key, value) throws(HeadroomError) in
            guard let key = CounterKey(bytes: key), let value = CounterValue(bytes: value) else {
                throw HeadroomError(.corrupted, "a counter cell does not decode")
            }
            cells[key] = value
        }
        return cells
    }

    func describe(_ key: CounterKey) -> String {
        "kind \(key.kind) definition \(key.definition.hexDigits) window \(key.window)"
    }


    /// Calls `body` with every entry of `table`.
    func forEach(_ txn: borrowing StoreTransaction, _ table: Table,
                 _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(HeadroomError) -> Void) throws(HeadroomError) {
        try txn.scan(table) { (key, value) throws(HeadroomError) in
            try body(key, value)
            return true
        }
    }
}
