/**
 * Which of `shards` objects holds a key: FNV-1a over its UTF-16 units, cheap, stable, and spreading
 * similar keys apart. Fixed once deployed: another hash or count would move keys away from their state.
 */
export function shardOf(key: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index++) hash = Math.imul(hash ^ key.charCodeAt(index), 0x01000193);
  return (hash >>> 0) % shards;
}
