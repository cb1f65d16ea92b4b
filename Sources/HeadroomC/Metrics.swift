// The C ABI's metrics: every engine a C or Java host opens reports into one Prometheus
// registry, which headroom_metrics_text() writes out for the host to serve.

import CHeadroom
import Headroom
import HeadroomMetrics
import Prometheus

enum Metrics {
    static let registry = PrometheusCollectorRegistry()
    static let factory = PrometheusMetricsFactory.headroom(registry)
}

@c(headroom_metrics_text)
public func headroomMetricsText(_ buffer: UnsafeMutablePointer<CChar>?, _ size: UInt, _ length: UnsafeMutablePointer<UInt>?) -> Int32 {
    var text: [UInt8] = []
    Metrics.registry.emit(into: &text)
    let needed = UInt(text.count) + 1
    guard buffer != nil || size == 0 else { return fail(HEADROOM_EARGUMENT, "buffer: NULL with a size", nil) }
    guard let buffer, size >= needed else {
        length?.pointee = needed
        return HEADROOM_EBUFFER
    }
    length?.pointee = needed - 1
    text.withUnsafeBufferPointer { bytes in
        UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
    }
    buffer[text.count] = 0
    return HEADROOM_OK
}
