package dev.deadwatch.capture;

import ai.djl.nn.Block;
import ai.djl.util.Pair;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Stable names for every sub-block of a model: the path of DJL child names from the root
 * ({@code 03Linear}, {@code 01SequentialBlock/02LayerNorm}). The same architecture gives the
 * same paths in every run, so they are safe as metric labels.
 */
public final class BlockPaths {

    /** The path of the root block itself. */
    public static final String ROOT = "";

    private final Map<String, Block> byPath;
    private final Map<Block, String> byBlock;
    private final Map<Block, Block> parents;

    private BlockPaths(Map<String, Block> byPath, Map<Block, String> byBlock, Map<Block, Block> parents) {
        this.byPath = byPath;
        this.byBlock = byBlock;
        this.parents = parents;
    }

    /**
     * @param root the model's block
     * @return the paths of the root and all its descendants, in pre-order
     */
    public static BlockPaths of(Block root) {
        Objects.requireNonNull(root, "root");
        Map<String, Block> byPath = new LinkedHashMap<>();
        Map<Block, String> byBlock = new IdentityHashMap<>();
        Map<Block, Block> parents = new IdentityHashMap<>();
        walk(root, ROOT, byPath, byBlock, parents);
        return new BlockPaths(
                Collections.unmodifiableMap(byPath), Collections.unmodifiableMap(byBlock), parents);
    }

    private static void walk(
            Block block, String path, Map<String, Block> byPath, Map<Block, String> byBlock,
            Map<Block, Block> parents) {
        if (byBlock.containsKey(block)) {
            return; // a shared block keeps its first path
        }
        byPath.put(path, block);
        byBlock.put(block, path);
        for (Pair<String, Block> child : block.getChildren()) {
            parents.putIfAbsent(child.getValue(), block);
            String childPath = path.isEmpty() ? child.getKey() : path + "/" + child.getKey();
            walk(child.getValue(), childPath, byPath, byBlock, parents);
        }
    }

    /** @return path → block in pre-order (unmodifiable) */
    public Map<String, Block> byPath() {
        return byPath;
    }

    /** @return the path of a block of this model, or {@code null} if it is not part of it */
    public String pathOf(Block block) {
        return byBlock.get(block);
    }

    /** @return the block at a path, or {@code null} */
    public Block blockAt(String path) {
        return byPath.get(path);
    }

    /** @return the paths of blocks that are instances of {@code type}, in pre-order */
    public List<String> pathsOf(Class<?> type) {
        List<String> out = new ArrayList<>();
        byPath.forEach((p, b) -> {
            if (type.isInstance(b)) {
                out.add(p);
            }
        });
        return out;
    }

    /** @return a block's children in forward order (DJL keeps insertion order) */
    public static List<Block> children(Block block) {
        List<Block> out = new ArrayList<>();
        for (Pair<String, Block> child : block.getChildren()) {
            out.add(child.getValue());
        }
        return out;
    }

    /** @return the parent of a block, or {@code null} for the root */
    public Block parentOf(Block block) {
        return parents.get(block);
    }
}
