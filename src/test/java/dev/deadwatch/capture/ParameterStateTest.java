package dev.deadwatch.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/** Values copied off the engine into a buffer: exact, in the array's logical order, the rest untouched. */
class ParameterStateTest {

    @Test
    void float64AndFloat32ValuesLandAtTheBufferStartWidenedExactlyInLogicalOrder() {
        try (NDManager m = NDManager.newBaseManager()) {
            double[] buffer = {-1, -1, -1, -1, -1, -1};
            NDArray wide = m.create(new double[] {0.1, 2, 3e-300, -4}, new Shape(2, 2));
            assertThat(ParameterState.toDoubles(wide, buffer)).isEqualTo(4);
            assertThat(buffer).containsExactly(0.1, 2, 3e-300, -4, -1, -1);

            NDArray narrow = m.create(new float[] {0.1f, 2, 3, 4}, new Shape(2, 2));
            // a transposed view is not stored in logical order: its values come out as it reads
            NDArray transposed = narrow.transpose();
            assertThat(ParameterState.toDoubles(transposed, buffer)).isEqualTo(4);
            assertThat(buffer).containsExactly((double) 0.1f, 3, 2, 4, -1, -1);
            assertThat(ParameterState.toDoubles(transposed, buffer)).isEqualTo(4);
            assertThat(buffer).containsExactly(ParameterState.toDoubles(transposed)[0], 3, 2, 4, -1, -1);
        }
    }

    @Test
    void aShortBufferOrAnIntegerArrayIsRefusedNamingWhat() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.zeros(new Shape(3, 2), DataType.FLOAT64);
            assertThatThrownBy(() -> ParameterState.toDoubles(a, new double[5]))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("5").hasMessageContaining("6");
            NDArray ints = m.zeros(new Shape(2), DataType.INT32);
            assertThatThrownBy(() -> ParameterState.toDoubles(ints, new double[2]))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("int32");
        }
    }
}
