import MetronomeWire

/// The walk every processor makes over a batch: resource by resource, the spans the processor takes part in, each
/// through its filter policies (spec §2.8) and weighed by its span multiplier (spec §2.7, §3.10).
///
/// Generic over the visitor, so each processor gets its own specialized loop: no existential or closure per span.
struct SpanSelection: Sendable {
    let filter: SpanFilter
    let multiplier: SpanMultiplier

    init(filterPolicies: [FilterPolicy], spanMultiplierKey: String, useTraceState: Bool) {
        filter = SpanFilter(filterPolicies)
        multiplier = SpanMultiplier(key: Array(spanMultiplierKey.utf8), useTraceState: useTraceState)
    }

    /// Offers every span of `batch` to `visitor`: those its resource or kind rules out are skipped, those the filter
    /// rejects are reported as filtered out, the others are visited with their multiplier.
    @inline(__always)
    func walk<Visitor: SpanVisitor>(_ batch: SpanBatch, bytes: UnsafeRawBufferPointer, _ visitor: inout Visitor) {
        let memo = RegexMemo()
        batch.attributes.withUnsafeBufferPointer { attributes in
            for resource in batch.resources where !resource.spans.isEmpty {
                guard visitor.beginResource(resource, batch: batch, bytes: bytes) else { continue }
                let resourceAttributes = Int(resource.attributes.lowerBound)..<Int(resource.attributes.upperBound)
                for spanIndex in resource.spans {
                    let span = batch.spans[Int(spanIndex)]
                    guard visitor.takesPart(span) else { continue }
                    if filter.isEnabled
                        && !filter.accepts(
                            span,
                            resourceAttributes: resourceAttributes,
                            attributes: attributes,
                            bytes: bytes,
                            memo: memo
                        )
                    {
                        visitor.filteredOut(span, bytes: bytes)
                        continue
                    }
                    let weight =
                        multiplier.isEnabled
                        ? multiplier.multiplier(
                            of: span,
                            resourceAttributes: resourceAttributes,
                            batch: batch,
                            bytes: bytes
                        ) : 1
                    visitor.visit(span, weight: weight, batch: batch, bytes: bytes)
                }
            }
        }
    }
}

/// What a processor does with the spans a ``SpanSelection`` walks over.
protocol SpanVisitor {
    /// Starts a resource that has spans; false skips them all (service graphs: a resource without a service name).
    mutating func beginResource(_ resource: ResourceRecord, batch: SpanBatch, bytes: UnsafeRawBufferPointer) -> Bool
    /// Whether the processor considers `span` at all, before any filter (service graphs: by span kind).
    func takesPart(_ span: SpanRecord) -> Bool
    /// `span` was rejected by the filter policies.
    mutating func filteredOut(_ span: SpanRecord, bytes: UnsafeRawBufferPointer)
    /// `span` counts `weight` times.
    mutating func visit(_ span: SpanRecord, weight: Double, batch: SpanBatch, bytes: UnsafeRawBufferPointer)
}

extension SpanRecord {
    /// The span's duration in seconds; a span ending before it starts lasts 0 s (spec §2.7).
    @inline(__always)
    var durationSeconds: Double {
        endTimeUnixNano > startTimeUnixNano ? Double(endTimeUnixNano - startTimeUnixNano) / 1e9 : 0
    }
}
