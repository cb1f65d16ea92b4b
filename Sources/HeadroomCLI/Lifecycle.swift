import ArgumentParser
import Foundation
import Headroom
import HeadroomCore
import HeadroomReplay
import Synchronization

/// `headroom expire`: gives back the reservations whose hold time has run out.
struct Expire: OperatorCommand {
    static let configuration = CommandConfiguration(
        abstract: "Give back every reservation whose hold time has run out (engines also do it as they write).",
        discussion: """
        An authorized payment holds its reservation for its hold time (the rule set's `holds`); \
        past it, the amount and count go back to the windows they were taken from and the payment \
        becomes `expired`. Engines expire what is due in every transaction and when they open; this \
        does it now, for a store no engine writes to.

        Example: headroom expire --store /var/lib/headroom
        """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var format: FormatOption

    func execute() throws {
        let engine = try storeOptions.openEngine(rules: nil, options: .init(expiresOnOpening: false))
        let expired = try engine.expireAllDue()
        let (held, next) = try engine.heldReservations()
        if format.format == .json {
            printJSON(["expired": expired, "still_held": held, "next_end": next.map { chinaTime($0) as Any } ?? NSNull()] as [String: Any])
            return
        }
        print("expired \(expired) reservation\(expired == 1 ? "" : "s") whose hold had run out; \(held) still held"
              + (next.map { ", the next hold ends \(chinaTime($0))" } ?? ""))
    }
}

/// `headroom reconcile FILE`: applies NetsUnion's reconciliation file.
struct Reconcile: OperatorCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply a NetsUnion reconciliation file: its final statuses correct the counters, exactly once.",
        discussion: """
        One transaction a line, fields separated by |:
          batch|id|time|institution|amount|status[|card|business|account_class[|channel[|account_type]]]
        status 00 success, 01 failure, 03 exception success, 04 exception failure; the last \
        fields count a payment the bank never saw (docs/reconciliation.md). Lines starting \
        with # are skipped.

        A line already applied changes nothing; one that contradicts it (another status or \
        amount) is refused and reported, as is a malformed line, with its number; the rest \
        goes on. Exits 1 when any line was refused. The run is recorded in the audit log.

        Lines are applied by 16 callers through group commit (one transaction and one sync for \
        many lines); the lines of one transaction id in file order.

        Example: headroom reconcile B202611250013.txt --store /var/lib/headroom
        """)

    @Argument(help: ArgumentHelp("The reconciliation file, or - for standard input.", valueName: "file")) var file: String
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var who: OperatorOption
    @OptionGroup var format: FormatOption

    struct Refusal {
        let line: Int
        let id: String?
        let code: String
        let field: String?
        let message: String
    }

    func execute() throws {
        let name = try who.resolved()
        let text: String
        if file == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file): no such file, or not readable by this account")
            }
            text = String(decoding: data, as: UTF8.self)
        }
        // Decoded first: a malformed line is reported with its number, the others applied.
        var decoded: [(number: Int, line: ReconciliationLine)] = []
        var refused: [Refusal] = []
        var lines = 0
        // Lines end in LF or CRLF (one Character in Swift: split on any line break).
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            do {
                guard let reconciliation = try ReconciliationFile.decode(String(line)) else { continue }
                decoded.append((index + 1, reconciliation))
            } catch {
                refused.append(Refusal(line: index + 1, id: error.id, code: "invalidInput", field: error.field, message: error.message))
            }
            lines += 1
        }
        // Applied by several callers through group commit (a transaction and a sync for many
        // lines); the lines of one transaction id go to one caller, in file order.
        let committer = try storeOptions.openCommitter(rules: nil, commit: .init())
        let applied = Self.apply(decoded, through: committer)
        let engine = try committer.close()
        if let failure = applied.failure {
            warn("stopped by a storage failure: \(applied.results.count) lines were applied before it; run the file again to finish (lines applied are not applied twice)")
            throw failure
        }
        let results = applied.results.sorted { $0.number < $1.number }.map(\.result)
        refused += applied.refused
        refused.sort { $0.line < $1.line }
        endProgress()
        let report = Self.report(results)
        let summary = Self.summary(report, refused: refused.count, lines: lines)
        try engine.recordReconciliation(of: file == "-" ? "standard input" : file, summary, by: name)
        if format.format == .json {
            printJSON(Self.json(report, refused, file: file, lines: lines, results))
        } else {
            print(Self.table(report, refused, file: file, lines: lines, results))
        }
        if !refused.isEmpty {
            warn("linesRefused: \(refused.count) of \(lines) lines were refused (listed above) and the others applied: correct those lines and run the file again (a line applied before changes nothing)")
            throw ExitStatus.problemsFound.code
        }
    }

    struct Applied {
        var results: [(number: Int, result: ReconcileResult)] = []
        var refused: [Refusal] = []
        var failure: HeadroomError?
    }

    /// Applies the lines from 16 callers through `committer`; a storage failure stops them all.
    static func apply(_ lines: [(number: Int, line: ReconciliationLine)], through committer: GroupCommitter) -> Applied {
        let callers = 16
        var byCaller = [[(number: Int, line: ReconciliationLine)]](repeating: [], count: callers)
        for entry in lines {
            byCaller[ConcurrentReplay.caller(of: entry.line.id.text, callers: callers)].append(entry)
        }
        let state = Mutex(Applied())
        let done = DispatchGroup()
        var meter = ProgressMeter()
        let total = lines.count
        for share in byCaller where !share.isEmpty {
            done.enter()
            let thread = Thread {
                defer { done.leave() }
                for (number, line) in share {
                    if state.withLock({ $0.failure != nil }) { return }
                    do throws(HeadroomError) {
                        guard case .reconciled(let result) = try committer.perform(.reconcile(line)) else { continue }
                        state.withLock { $0.results.append((number, result)) }
                    } catch where error.code == .storage || error.code == .corrupted || error.code == .storeBusy {
                        state.withLock { $0.failure = $0.failure ?? error }
                        return
                    } catch {
                        state.withLock { $0.refused.append(Refusal(line: number, id: line.id.text, code: error.code.rawValue, field: nil, message: error.message)) }
                    }
                }
            }
            thread.name = "headroom.reconcile"
            thread.start()
        }
        while done.wait(timeout: .now() + .milliseconds(200)) == .timedOut {
            let count = state.withLock { $0.results.count + $0.refused.count }
            meter.tick("headroom: \(count) of \(total) lines reconciled")
        }
        return state.withLock { $0 }
    }

    /// Count and amount (NetsUnion's) by correction.
    static func report(_ results: [ReconcileResult]) -> [(String, DayReport.Tally)] {
        var byKind: [ReconcileResult.Correction: DayReport.Tally] = [:]
        for r in results { byKind[r.correction, default: .init()].add(r.amountFen) }
        return ReconcileResult.Correction.allCases.map { ($0.rawValue, byKind[$0] ?? .init()) }
    }

    static func summary(_ report: [(String, DayReport.Tally)], refused: Int, lines: Int) -> String {
        "\(lines) lines: " + report.filter { $0.1.count > 0 }.map { "\($0.1.count) \(label($0.0))" }.joined(separator: ", ")
            + (refused > 0 ? (report.contains { $0.1.count > 0 } ? ", " : "") + "\(refused) refused" : "")
    }

    static func label(_ correction: String) -> String {
        switch correction {
        case "confirmed": "confirmed"
        case "recounted": "counted again"
        case "givenBack": "given back"
        case "unknownToBank": "unknown to the bank"
        case "unchanged": "already agreed"
        case "alreadyReconciled": "applied before"
        default: correction
        }
    }

    static func table(_ report: [(String, DayReport.Tally)], _ refused: [Refusal], file: String, lines: Int, _ results: [ReconcileResult]) -> String {
        var table = Table(["correction", "count", "amount"])
        for (kind, tally) in report { table.add([label(kind), "\(tally.count)", Amount.grouped(tally.amountFen)]) }
        let corrected = results.filter { $0.amountCorrectedFromFen != nil }
        table.add(["amount corrected", "\(corrected.count)",
                   Amount.grouped(corrected.reduce(0) { $0 + $1.amountFen - $1.amountCorrectedFromFen! }) + " (NetsUnion's less the bank's)"])
        let conflicts = refused.filter { $0.code != "invalidInput" }.count
        table.add(["conflicts (refused)", "\(conflicts)", "-"])
        table.add(["malformed (refused)", "\(refused.count - conflicts)", "-"])
        var out = ["\(file): \(lines) lines", table.text]
        for r in results where r.amountCorrectedFromFen != nil {
            out.append("\(r.id): amount corrected from \(Amount.grouped(r.amountCorrectedFromFen!)) to \(Amount.grouped(r.amountFen))")
        }
        for r in results {
            if let f = r.overLimit {
                out.append("\(r.id): overLimitByReconciliation: counted past \(f.limitID) (\(ResultEncoder.reason(f)))")
            }
        }
        for r in refused {
            out.append("line \(r.line)\(r.id.map { " (\($0))" } ?? ""): \(r.code)\(r.field.map { " \($0)" } ?? ""): \(r.message)")
        }
        return out.joined(separator: "\n")
    }

    static func json(_ report: [(String, DayReport.Tally)], _ refused: [Refusal], file: String, lines: Int, _ results: [ReconcileResult]) -> [String: Any] {
        var corrections: [String: Any] = [:]
        for (kind, tally) in report { corrections[kind] = ["count": tally.count, "amount": Amount.plain(tally.amountFen)] }
        return [
            "file": file, "lines": lines, "corrections": corrections,
            "amount_corrected": results.filter { $0.amountCorrectedFromFen != nil }.map {
                ["id": $0.id.text, "bank_amount": Amount.plain($0.amountCorrectedFromFen!), "netsunion_amount": Amount.plain($0.amountFen)]
            },
            "conflicts": refused.filter { $0.code != "invalidInput" }.count,
            "malformed": refused.filter { $0.code == "invalidInput" }.count,
            "over_limit": results.compactMap { r in r.overLimit.map { ["id": r.id.text, "limit": $0.limitID, "tier": $0.tier.name] } },
            "refused": refused.map { r -> [String: Any] in
                ["line": r.line, "id": r.id ?? NSNull(), "code": r.code, "field": r.field ?? NSNull(), "message": r.message]
            },
        ]
    }
}

/// `headroom payment ID`: one payment's state and history.
struct PaymentCommand: OperatorCommand {
    static let configuration = CommandConfiguration(
        commandName: "payment",
        abstract: "One payment's state and history, amount, windows and decision; changes nothing.",
        discussion: "Example: headroom payment N202611250002 --store /var/lib/headroom")

    @Argument(help: ArgumentHelp("The NetsUnion transaction id.", valueName: "id")) var id: String
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var format: FormatOption

    func execute() throws {
        let paymentID: PaymentID
        do {
            paymentID = try PaymentID(id)
        } catch {
            throw ValidationError("id: \(error)")
        }
        let engine = try storeOptions.openReading()
        guard let p = try engine.payment(paymentID) else {
            throw HeadroomError(.unknownPayment, "no payment \(paymentID) is on record in \(storeOptions.store)")
        }
        let d = p.decision
        let decision = "\(d.outcome.name) \(d.code.name)" + (d.failed.map { " by \($0.limitID) (\(ResultEncoder.reason($0)))" } ?? "")
            + ", rule set v\(d.ruleSetVersion)"
        if format.format == .json {
            printJSON([
                "id": p.id.text, "kind": p.kind, "state": p.state.name, "time": p.time.chinaISO8601,
                "amount": Amount.plain(p.amountFen), "refunded": Amount.plain(p.refundedFen),
                "decision": ["outcome": d.outcome.name, "code": d.code.name, "limit": d.failed?.limitID ?? NSNull(),
                             "rule_set": Int(d.ruleSetVersion)] as [String: Any],
                "held_until": p.heldUntil.map { chinaTime($0) as Any } ?? NSNull(),
                "card_hash": p.cardHashPrefix.map { $0 + "…" as Any } ?? NSNull(),
                "institution": p.institution?.code ?? NSNull(), "business": p.business?.name ?? NSNull(),
                "account_class": p.accountClass?.name ?? NSNull(), "windows": p.windows, "original": p.original ?? NSNull(),
                "history": p.events.map { e -> [String: Any] in
                    ["event": e.name, "time": chinaTime(e.time), "amount": e.amountFen.map { Amount.plain($0) as Any } ?? NSNull(),
                     "detail": e.detail ?? NSNull()]
                },
            ] as [String: Any])
            return
        }
        var facts = Table(["fact", "value"])
        facts.add(["payment", "\(p.id) (\(p.kind))"])
        facts.add(["state", p.state.name + (p.heldUntil.map { ", held until \(chinaTime($0))" } ?? "")])
        facts.add(["amount", Amount.grouped(p.amountFen) + (p.refundedFen > 0 ? ", \(Amount.grouped(p.refundedFen)) refunded" : "")])
        facts.add(["time", p.time.chinaISO8601])
        if let institution = p.institution { facts.add(["institution", institution.code]) }
        if let business = p.business, let accountClass = p.accountClass { facts.add(["business", "\(business.name), class \(accountClass.name)"]) }
        if let card = p.cardHashPrefix { facts.add(["card", "keyed hash \(card)…"]) }
        if let original = p.original { facts.add(["refund of", original]) }
        facts.add(["decision", decision])
        facts.add(["windows", p.windows.isEmpty ? "none" : p.windows.joined(separator: "; ")])
        var history = Table(["time", "event", "amount", "detail"])
        for e in p.events { history.add([chinaTime(e.time), e.name, e.amountFen.map(Amount.grouped) ?? "", e.detail ?? ""]) }
        print(facts.text + "\n\n" + (p.events.isEmpty ? "no history (recorded before Headroom 0.11)" : history.text))
    }
}

/// `headroom report --day`: a natural day's authorizations, expiries and corrections.
struct Report: OperatorCommand {
    static let configuration = CommandConfiguration(
        abstract: "A natural day's authorizations by outcome, reason, institution and business; expiries; reconciliation's corrections.",
        discussion: """
        Payments count on the natural day (UTC+8) of their own time. Reads every record of the \
        store in one snapshot: safe while engines run, and minutes on a store of many days.

        Example: headroom report --day 2026-11-25 --store /var/lib/headroom --format json
        """)

    @Option(help: ArgumentHelp("The natural day, YYYY-MM-DD in UTC+8.", valueName: "date")) var day: String
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var format: FormatOption

    func validate() throws { _ = try chinaDay() }

    func chinaDay() throws -> Int32 {
        guard let number = ChinaTime.day(date: day) else {
            throw ValidationError("--day: \"\(day)\" is not a date like 2026-11-25")
        }
        return number
    }

    func execute() throws {
        let engine = try storeOptions.openReading()
        let r = try engine.report(day: try chinaDay()) { progress("headroom: \($0) records read") }
        endProgress()
        let sections: [(String, [String: DayReport.Tally])] = [
            ("outcome", r.byOutcome), ("reason", r.byReason), ("institution", r.byInstitution), ("business", r.byBusiness),
            ("reconciliation", r.corrections),
        ]
        if format.format == .json {
            func tallies(_ d: [String: DayReport.Tally]) -> [String: Any] {
                d.mapValues { ["count": $0.count, "amount": Amount.plain($0.amountFen)] as [String: Any] }
            }
            var out: [String: Any] = ["day": day]
            for (name, d) in sections { out[name] = tallies(d) }
            out["expired"] = ["count": r.expired.count, "amount": Amount.plain(r.expired.amountFen)]
            out["amounts_corrected"] = ["count": r.amountsCorrected.count, "amount": Amount.plain(r.amountsCorrected.amountFen)]
            printJSON(out)
            return
        }
        var table = Table(["by", "value", "count", "amount"])
        for (name, d) in sections {
            for key in d.keys.sorted() {
                let label = name == "reconciliation" ? Reconcile.label(key) : key
                table.add([name, label, "\(d[key]!.count)", Amount.grouped(d[key]!.amountFen)])
            }
        }
        table.add(["expired", "holds that ran out", "\(r.expired.count)", Amount.grouped(r.expired.amountFen)])
        table.add(["reconciliation", "amounts corrected", "\(r.amountsCorrected.count)", Amount.grouped(r.amountsCorrected.amountFen)])
        print("payments of \(day) (UTC+8)\n" + table.text)
    }
}
