import CHeadroom
@testable import Headroom
@testable import HeadroomC
import Testing

/// The C ABI's stable numbers: every engine error code has a status, distinct from every other
/// code's but for the governance codes that share HEADROOM_EOTHER; every status and reason code
/// has a static name; a message is truncated at a character's boundary, NUL-terminated.
@Suite struct StatusTests {
    @Test func everyCodeHasItsOwnNamedStatus() {
        var seen: [Int32: HeadroomError.Code] = [:]
        for code in HeadroomError.Code.allCases {
            let s = status(of: code)
            #expect(s != HEADROOM_OK)
            let name = String(cString: headroomStrerror(s))
            #expect(name.hasPrefix("HEADROOM_E"), "\(code): \(name)")
            if s != HEADROOM_EOTHER, let other = seen[s] { Issue.record("\(code) and \(other) share status \(s)") }
            seen[s] = code
        }
        #expect(String(cString: headroomStrerror(12_345)) == "unknown")
    }

    @Test func everyReasonCodeHasItsName() {
        for (number, name) in ReasonCode.table {
            #expect(String(cString: headroomReasonName(Int32(number))) == name)
        }
        #expect(String(cString: headroomReasonName(-1)) == "unknown")
        #expect(String(cString: headroomReasonName(999)) == "unknown")
    }

    @Test func messagesAreCutAtACharacterNotInIt() {
        var buffer = [UInt8](repeating: 0xAA, count: 8)
        buffer.withUnsafeMutableBytes { copyCString("限额已满 exceeded", into: $0) }  // 3 bytes a character
        #expect(buffer[6] == 0)
        #expect(String(decoding: buffer[0..<6], as: UTF8.self) == "限额")
        buffer.withUnsafeMutableBytes { copyCString("ok", into: $0) }
        #expect(buffer[0..<3] == [0x6F, 0x6B, 0])
    }
}
