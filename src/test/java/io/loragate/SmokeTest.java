package io.loragate;
import ai.djl.ndarray.*;
import org.junit.jupiter.api.Test;
public class SmokeTest {
  @Test void djl() {
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      NDArray a = m.create(new float[]{1,2,3,4}, new ai.djl.ndarray.types.Shape(2,2));
      System.out.println("DJL " + a.matMul(a) + " device " + m.getDevice() + " engine " + m.getEngine().getVersion());
    }
  }
}
