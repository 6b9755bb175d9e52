// A bounded map that evicts its least recently used entry when full.  Every table in
// the daemon uses it so none can grow without bound; evictions are counted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <utility>

namespace jvmwatch::daemon {

template <class K, class V>
class LruMap {
public:
    explicit LruMap(size_t capacity) : capacity_(capacity ? capacity : 1) {}

    // Inserts or replaces; the entry becomes the most recent.  Returns it.
    V& put(const K& key, V value) {
        auto it = index_.find(key);
        if (it != index_.end()) {
            it->second->second = std::move(value);
            order_.splice(order_.begin(), order_, it->second);
            return it->second->second;
        }
        if (index_.size() >= capacity_) {
            index_.erase(order_.back().first);
            order_.pop_back();
            ++evictions_;
        }
        order_.emplace_front(key, std::move(value));
        index_[key] = order_.begin();
        return order_.front().second;
    }

    // The entry (made most recent), or nullptr.
    V* get(const K& key) {
        auto it = index_.find(key);
        if (it == index_.end()) return nullptr;
        order_.splice(order_.begin(), order_, it->second);
        return &it->second->second;
    }
    // Without touching the order.
    const V* peek(const K& key) const {
        auto it = index_.find(key);
        return it == index_.end() ? nullptr : &it->second->second;
    }
    bool erase(const K& key) {
        auto it = index_.find(key);
        if (it == index_.end()) return false;
        order_.erase(it->second);
        index_.erase(it);
        return true;
    }

    template <class F> void for_each(F f) const {
        for (const auto& kv : order_) f(kv.first, kv.second);
    }

    size_t size() const { return index_.size(); }
    size_t capacity() const { return capacity_; }
    uint64_t evictions() const { return evictions_; }

private:
    size_t capacity_;
    std::list<std::pair<K, V>> order_;   // most recent first
    std::unordered_map<K, typename std::list<std::pair<K, V>>::iterator> index_;
    uint64_t evictions_ = 0;
};

}  // namespace jvmwatch::daemon
