import ArgumentParser
import Foundation
import Headroom
import HeadroomReplay
import HeadroomCore

struct Explain: OperatorCommand {
    static let configuration = CommandConfiguration(
        abstract: "The decision a payment would get now, with every limit that applied; changes nothing.",
        discussion: """
        The payment is one authorize line as `replay` reads it, from a file or standard input (-).

        Example, with payment.json holding one line such as
          {"op":"authorize","id":"N1","time":"2026-11-25T10:00:00+08:00",
           "card":"6222020200112233446","institution":"Z2007933000010",
           "business":"agreement","amount":"25000.00","account_class":"I"}
        (one JSON object on one line; split here to fit the screen):
          headroom explain payment.json --store /var/lib/headroom
        """
    )

    @Argument(help: ArgumentHelp("A file holding one authorize line, or - for standard input.", valueName: "file")) var file: String
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var format: FormatOption

    func request() throws -> PaymentRequest {
        let text: String
        if file == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            text = String(decoding: data, as: UTF8.self)
        }
        let lines = text.split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) }
        guard lines.count <= 1 else {
            throw ValidationError("\(file): explain takes one payment, and this holds \(lines.count) lines: give one line (replay --dry-run judges many)")
        }
        let line = lines.first.map(String.init) ?? ""
        do {
            guard case .authorize(let request) = try OperationDecoder.decode(line) else {
                throw ValidationError("\(file): explain takes an authorize line")
            }
            return request
        } catch let error as EventError {
            throw ValidationError("\(file): \(error)")
        }
    }

    func execute() throws {
        let request = try request()
        let engine = try storeOptions.openReading()
        let explanation = try engine.explain(request)
        let d = explanation.decision
        let state = try engine.state(of: request.id)
        if let state, format.format == .table {
            print("note: \(request.id) is already on record (\(state)): a retry gets its first answer and counts nothing")
        }
        let verdict: String
        switch (d.outcome, d.decidedBy) {
        case (.approve, _): verdict = "approve"
        case (let outcome, .cap(let limit)?): verdict = "\(outcome): \(d.code.name) by \(limit.limitID) (\(ResultEncoder.reason(limit)))"
        case (let outcome, .risk(let finding)?): verdict = "\(outcome): \(d.code.name) by \(finding.ruleID) (\(ResultEncoder.reason(finding)))"
        case (let outcome, nil): verdict = "\(outcome): \(d.code.name)"
        }
        printLines(explanation.lines, header: "\(request.id) \(request.amount.grouped) by card \(request.card.masked) at \(request.institution): would \(verdict); rule set v\(d.ruleSetVersion)",
                   format: format.format, decision: d, onRecord: state?.name, risk: explanation.risk)
    }
}
