// The C ABI's handle, options, open and close: include/headroom.h is the contract (imported
// here as the module CHeadroom, so its structs and constants are the ones this code writes).

import CHeadroom
import Foundation
import Headroom
import Logging

/// What a `headroom_engine *` points at: one store, opened through group commit so that any
/// number of the host's threads can call at once.
final class OpenEngine: Sendable {
    let committer: GroupCommitter

    init(_ committer: GroupCommitter) {
        self.committer = committer
    }

    static func from(_ handle: OpaquePointer?) -> OpenEngine? {
        guard let handle else { return nil }
        return Unmanaged<OpenEngine>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    }
}

@c(headroom_options_init)
public func headroomOptionsInit(_ options: UnsafeMutablePointer<headroom_options>?) {
    guard let options else { return }
    options.pointee = headroom_options(
        card_key: nil, rules_directory: nil, durability: HEADROOM_SYNC_EACH_COMMIT, sync_milliseconds: 100,
        journal: 0, batch_max: 512, queue_max: 65_536, map_size_bytes: 1 << 30, log_level: HEADROOM_LOG_INFO)
}

@c(headroom_open)
public func headroomOpen(_ path: UnsafePointer<CChar>?, _ options: UnsafePointer<headroom_options>?,
                         _ engine: UnsafeMutablePointer<OpaquePointer?>?, _ error: UnsafeMutablePointer<headroom_error>?) -> Int32 {
    guard let engine else { return fail(HEADROOM_EARGUMENT, "engine: NULL: headroom_open needs somewhere to put the engine", error) }
    engine.pointee = nil
    guard let path else { return fail(HEADROOM_EARGUMENT, "path: NULL: give the store's directory", error) }
    guard let options else { return fail(HEADROOM_EARGUMENT, "options: NULL: fill one with headroom_options_init", error) }
    return answering(error) { () throws(HeadroomError) in
        let o = options.pointee
        guard let keyBytes = o.card_key else {
            throw HeadroomError(.cardKeyUnavailable, "options.card_key: NULL: the store's 32-byte card key is required")
        }
        let key = try CardKey(bytes: Array(UnsafeBufferPointer(start: keyBytes, count: 32)))
        let store = String(cString: path)
        var engineOptions = Engine.Options()
        switch o.durability {
        case HEADROOM_SYNC_EACH_COMMIT: engineOptions.durability = .syncEachCommit
        case HEADROOM_SYNC_EVERY:
            guard o.sync_milliseconds >= 1 else {
                throw HeadroomError(.invalidInput, "options.sync_milliseconds: \(o.sync_milliseconds): at least 1 with HEADROOM_SYNC_EVERY")
            }
            engineOptions.durability = .syncEvery(milliseconds: Int(o.sync_milliseconds))
        case HEADROOM_SYNC_OS_DECIDES: engineOptions.durability = .operatingSystemDecides
        default: throw HeadroomError(.invalidInput, "options.durability: \(o.durability) is not one of HEADROOM_SYNC_EACH_COMMIT, _EVERY, _OS_DECIDES")
        }
        guard o.map_size_bytes >= 1 << 20, o.map_size_bytes <= UInt64(engineOptions.mapSizeBytesMax) else {
            throw HeadroomError(.invalidInput, "options.map_size_bytes: \(o.map_size_bytes): between 1 MiB and 1 TiB")
        }
        engineOptions.mapSizeBytes = Int(o.map_size_bytes)
        guard o.batch_max >= 1, o.queue_max >= o.batch_max else {
            throw HeadroomError(.invalidInput, "options.batch_max \(o.batch_max), queue_max \(o.queue_max): batch_max at least 1, queue_max at least batch_max")
        }
        let levels: [Int32: Logger.Level] = [HEADROOM_LOG_TRACE: .trace, HEADROOM_LOG_DEBUG: .debug, HEADROOM_LOG_INFO: .info,
                                             HEADROOM_LOG_WARNING: .warning, HEADROOM_LOG_ERROR: .error]
        guard let level = levels[o.log_level] else {
            throw HeadroomError(.invalidInput, "options.log_level: \(o.log_level) is not one of HEADROOM_LOG_TRACE ... HEADROOM_LOG_ERROR")
        }
        var logger = Logger(label: "headroom")
        logger.logLevel = level
        var rules: [RuleSource]? = nil
        if let directory = o.rules_directory {
            do throws(RuleErrors) {
                rules = try RuleSource.read(directory: String(cString: directory))
            } catch {
                throw HeadroomError(.invalidRules, error.description)
            }
        } else {
            // Only a rules directory makes a new store: a mistyped path must not become an empty store.
            try Engine.requireStore(store)
        }
        engineOptions.metrics = Metrics.factory
        let commit = GroupCommitter.Options(batchMax: Int(o.batch_max), queueMax: Int(o.queue_max),
                                            journal: o.journal != 0 ? .init() : nil)
        let committer = try GroupCommitter(path: store, cardKey: key, rules: rules, engineOptions: engineOptions,
                                           options: commit, logger: logger)
        engine.pointee = OpaquePointer(Unmanaged.passRetained(OpenEngine(committer)).toOpaque())
    }
}

@c(headroom_close)
public func headroomClose(_ engine: OpaquePointer?, _ error: UnsafeMutablePointer<headroom_error>?) -> Int32 {
    guard let engine else { return fail(HEADROOM_EARGUMENT, "engine: NULL", error) }
    let open = Unmanaged<OpenEngine>.fromOpaque(UnsafeRawPointer(engine)).takeRetainedValue()
    return answering(error) { () throws(HeadroomError) in
        try open.committer.close()
    }
}

@c(headroom_version)
public func headroomVersion() -> UnsafePointer<CChar> {
    Names.version
}
