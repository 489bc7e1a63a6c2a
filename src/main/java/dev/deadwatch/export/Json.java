package dev.deadwatch.export;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.TypeAdapter;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonWriter;
import java.io.IOException;
import java.util.OptionalInt;

/** The one Gson configuration for reports and snapshots: NaN allowed, pretty, records. */
public final class Json {

    private static final Gson GSON = new GsonBuilder()
            .setPrettyPrinting()
            .serializeSpecialFloatingPointValues()
            .disableHtmlEscaping()
            .registerTypeAdapter(OptionalInt.class, new TypeAdapter<OptionalInt>() {
                @Override
                public void write(JsonWriter out, OptionalInt value) throws IOException {
                    if (value == null || value.isEmpty()) {
                        out.nullValue();
                    } else {
                        out.value(value.getAsInt());
                    }
                }

                @Override
                public OptionalInt read(JsonReader in) throws IOException {
                    if (in.peek() == com.google.gson.stream.JsonToken.NULL) {
                        in.nextNull();
                        return OptionalInt.empty();
                    }
                    return OptionalInt.of(in.nextInt());
                }
            })
            .create();

    private Json() {}

    /** @return the shared, thread-safe Gson */
    public static Gson gson() {
        return GSON;
    }
}
