package dev.deadwatch.agent;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.training.loss.Loss;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The agent's one use of DJL internals: if a DJL upgrade renames or retypes {@code Trainer.listeners},
 * this fails here, by name, instead of the agent disabling itself in users' programs.
 */
class AgentHookTest {

    @Test
    void djlsTrainerStillHasAListenerListTheAgentCanExtend() throws Exception {
        assertThat(AgentHook.listenersField().getType()).isEqualTo(List.class);
        AtomicInteger epochs = new AtomicInteger();
        AtomicInteger configured = new AtomicInteger();
        try (Model model = Model.newInstance("hook")) {
            model.setBlock(Linear.builder().setUnits(2).build());
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.l2Loss())
                    .addTrainingListeners(new TrainingListenerAdapter() {
                        @Override
                        public void onEpoch(Trainer trainer) {
                            configured.incrementAndGet();
                        }
                    });
            try (Trainer t = model.newTrainer(cfg); Trainer other = model.newTrainer(cfg)) {
                t.initialize(new Shape(1, 3));
                AgentHook.addListener(t, new TrainingListenerAdapter() {
                    @Override
                    public void onEpoch(Trainer trainer) {
                        epochs.incrementAndGet();
                    }
                });
                t.notifyListeners(l -> l.onEpoch(t));
                other.notifyListeners(l -> l.onEpoch(other));
            }
        }
        assertThat(epochs).as("the added listener is called by its trainer only").hasValue(1);
        assertThat(configured).as("the configured listener still runs on both trainers").hasValue(2);
    }
}
