import HeadroomCore

/// Drives an engine with JSON Lines events and answers one JSON line for each, in order. A
/// malformed line, or one the engine refuses, gets an `error` line and the replay goes on; a
/// storage failure stops it (nothing after it could be trusted).
public struct Replayer {
    public struct Summary: Sendable, Equatable {
        public var lines = 0
        public var approved = 0
        public var declined = 0
        public var errors = 0
        public var replayed = 0

        public static func + (a: Summary, b: Summary) -> Summary {
            Summary(lines: a.lines + b.lines, approved: a.approved + b.approved, declined: a.declined + b.declined,
                    errors: a.errors + b.errors, replayed: a.replayed + b.replayed)
        }
    }

    /// An engine, or a group committer in front of one.
    public let engine: any PaymentLifecycle
    public private(set) var summary = Summary()

    public init(engine: any PaymentLifecycle) {
        self.engine = engine
    }

    /// Handles one input line (1-based `number`); `nil` for a blank line.
    /// - Throws: ``HeadroomError`` with `storage`, `corrupted` or `storeBusy`, after which nothing
    ///   more should be replayed.
    public mutating func handle(_ line: String, number: Int) throws(HeadroomError) -> String? {
        guard let decoded = Self.decode(line) else { return nil }
        return try handle(decoded, number: number)
    }

    /// A line decoded; `nil` for a blank line.
    public static func decode(_ line: String) -> Result<Event, EventError>? {
        if line.allSatisfy(\.isWhitespace) { return nil }
        do {
            return .success(try EventDecoder.decode(line))
        } catch {
            return .failure(error)
        }
    }

    /// ``handle(_:number:)`` for a line already decoded (with ``decode(_:)``).
    public mutating func handle(_ decoded: Result<Event, EventError>, number: Int) throws(HeadroomError) -> String {
        summary.lines += 1
        let event: Event
        switch decoded {
        case .success(let decodedEvent):
            event = decodedEvent
        case .failure(let error):
            summary.errors += 1
            return ResultEncoder.error(line: number, id: error.id, op: error.op, code: HeadroomError.Code.invalidInput.rawValue,
                                       field: error.field, message: error.message)
        }
        do {
            return try apply(event)
        } catch where error.code == .storage || error.code == .corrupted || error.code == .storeBusy {
            throw error
        } catch {
            summary.errors += 1
            return ResultEncoder.error(line: number, id: event.id.text, op: event.op, code: error.code.rawValue,
                                       field: nil, message: error.message)
        }
    }

    mutating func apply(_ event: Event) throws(HeadroomError) -> String {
        switch event {
        case .authorize(let request):
            let result = try engine.authorize(request)
            if result.replayed { summary.replayed += 1 }
            if result.decision.isApproved { summary.approved += 1 } else { summary.declined += 1 }
            return ResultEncoder.authorize(request.id, result)
        case .confirm(let id):
            try engine.confirm(id)
            return ResultEncoder.lifecycle(id, op: "confirm", code: "confirmed")
        case .release(let id):
            try engine.release(id)
            return ResultEncoder.lifecycle(id, op: "release", code: "released")
        case .refund(let request):
            let result = try engine.refund(request)
            if result.replayed { summary.replayed += 1 }
            return ResultEncoder.refund(result)
        }
    }
}
