import MetronomeWire

/// The cumulative state of one ``SeriesStore``, as written to and read from a checkpoint.
struct StoreSnapshot: Equatable {
    /// Identifies the store's shape (metric names, buckets, label names): a checkpoint of another shape is not loaded.
    var signature: String
    var entries: [Entry]
    /// The overflow series' values and native histograms, when it was in use.
    var overflow: [Double]?
    var overflowNatives: [NativeHistogram] = []

    struct Entry: Equatable {
        var columns: [[UInt8]]
        var values: [Double]
        var lastUpdatedMs: Int64
        var natives: [NativeHistogram] = []
        /// Read with a native histogram that is not one: not restored.
        var isDamaged = false
    }
}

extension SeriesStore {
    /// A string that changes whenever the shape of this store's series changes.
    var signature: String {
        let metrics = layout.metrics.map { metric in
            switch metric.kind {
            case .counter: "\(metric.name):counter"
            case .gauge: "\(metric.name):gauge"
            case .histogram(let bounds, let native):
                "\(metric.name):histogram:\(native.writesClassic ? bounds.map { "\($0)" }.joined(separator: ",") : "-")"
                    + (native.writesNative
                        ? ":native:\(native.schema):\(native.maxBucketNumber):\(native.minResetDurationMs)" : "")
            }
        }
        return (metrics + ["columns:" + columnNames.joined(separator: ",")]).joined(separator: ";")
    }

    /// Appends one `Store` message of a checkpoint to `writer`: `name`, the signature, the entries of one shard
    /// (encoded under its lock, which is then released) and, with the last shard, the overflow values. A checkpoint
    /// holds one such message per shard, so writing it never holds more than one shard's bytes.
    func encodeCheckpoint(shard: Int, name: String, into writer: inout ProtobufWriter) {
        writer.writeMessage(1) { message in
            message.writeStringField(1, name)
            message.writeStringField(2, signature)
            withShard(shard) { table in
                let nativeWidth = table.nativeWidth
                let natives = table.natives
                table.values.withUnsafeBufferPointer { values in
                    table.forEachEntry { entry, column in
                        message.writeMessage(3) { entryWriter in
                            for index in 0..<table.columnCount { entryWriter.writeBytesField(1, column(index)) }
                            let start = entry * table.valueWidth
                            Checkpoint.writePacked(
                                values[start..<(start + table.valueWidth)],
                                field: 2,
                                to: &entryWriter
                            )
                            entryWriter.writeVarintField(3, UInt64(bitPattern: table.lastUpdatedMs[entry]))
                            for slot in 0..<nativeWidth {
                                natives[entry * nativeWidth + slot].encodeCheckpoint(field: 4, into: &entryWriter)
                            }
                        }
                    }
                }
            }
            if shard == Self.shardCount - 1, let overflow = overflowState() {
                Checkpoint.writePacked(overflow.values[...], field: 4, to: &message)
                for native in overflow.natives { native.encodeCheckpoint(field: 5, into: &message) }
            }
        }
    }

    /// Loads a snapshot into this (empty) store: counters continue from the saved values, and restored series get
    /// no second initial zero (they were collected before the checkpoint).
    /// - Returns: false when the snapshot has another shape, and nothing was loaded.
    func restore(_ snapshot: StoreSnapshot, nowMs: Int64) -> Bool {
        guard snapshot.signature == signature else { return false }
        for entry in snapshot.entries
        where entry.columns.count == columnCount && entry.values.count == layout.width
            && entry.natives.count == layout.nativeSettings.count && !entry.isDamaged
        {
            var hash = SeriesHash.seed
            for (index, value) in entry.columns.enumerated() {
                hash = SeriesHash.combine(hash, value.withUnsafeBytes { SeriesHash.hash($0) }, column: index)
            }
            let pointers = entry.columns.map { $0 }
            withShard(Self.shard(of: hash)) { table in
                withUnsafeBufferPointers(pointers) { columns in
                    guard
                        let index = try? table.entry(
                            hash: hash,
                            columns: columns,
                            nowMs: entry.lastUpdatedMs,
                            reserve: {
                                limiter.reserve(entryCost)
                            }
                        )
                    else { return }
                    table.restoreEntry(index, values: entry.values, natives: entry.natives)
                }
            }
        }
        if let overflow = snapshot.overflow {
            restoreOverflow(overflow, natives: snapshot.overflowNatives, nowMs: nowMs)
        }
        return true
    }
}

/// Calls `body` with raw pointers to every array of `arrays`, all pinned for the call.
private func withUnsafeBufferPointers<R>(
    _ arrays: [[UInt8]],
    _ body: (UnsafeBufferPointer<UnsafeRawBufferPointer>) -> R
) -> R {
    var pointers: [UnsafeRawBufferPointer] = []
    func pin(_ index: Int) -> R {
        if index == arrays.count { return pointers.withUnsafeBufferPointer(body) }
        return arrays[index].withUnsafeBytes { bytes in
            pointers.append(bytes)
            return pin(index + 1)
        }
    }
    return pin(0)
}
