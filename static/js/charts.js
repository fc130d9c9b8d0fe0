// Draws the Plotly figures the analytics pages embed as JSON (<script type="application/json"
// data-chart-figure="name">) into their containers (data-chart="name"). The modebar keeps
// Plotly's PNG download and gains an SVG one.
(() => {
  const containers = document.querySelectorAll("[data-chart]");
  if (!containers.length) return;

  function showStatus(container, message) {
    const status = container.querySelector("[data-chart-status]");
    if (status) status.textContent = message;
    container.setAttribute("aria-busy", "false");
  }

  if (typeof window.Plotly === "undefined") {
    containers.forEach((c) => showStatus(c, "The chart library did not load. Reload the page to try again."));
    return;
  }

  // No cloud link: plotly.js 3 adds a "Share chart..." button by default that posts the
  // chart's data to cloud.plotly.com; an organization's numbers never leave Drip that way.
  // (showLink, sendData and showEditInChartStudio were plotly.js 1-2's; 3 has none of them.)
  const NO_CLOUD = { showSendToCloud: false, plotlyServerURL: "" };

  function config(filename) {
    return {
      ...NO_CLOUD,
      responsive: true,
      displaylogo: false,
      modeBarButtonsToRemove: ["lasso2d", "select2d", "sendChartToCloud"],
      toImageButtonOptions: { format: "png", filename: filename, scale: 2 },
      modeBarButtonsToAdd: [
        {
          name: "downloadSvg",
          title: "Download plot as an SVG",
          icon: Plotly.Icons.disk,
          click: (gd) => Plotly.downloadImage(gd, { format: "svg", filename: filename }),
        },
      ],
    };
  }

  containers.forEach((container) => {
    const name = container.dataset.chart;
    const source = document.querySelector(`[data-chart-figure="${name}"]`);
    let figure;
    try {
      figure = JSON.parse(source ? source.textContent : "");
    } catch (error) {
      showStatus(container, "This chart could not be read.");
      return;
    }
    const layout = Object.assign({}, figure.layout);
    delete layout.width; // the container decides; `responsive` follows it
    const plot = document.createElement("div");
    plot.className = "chart-plot";
    container.appendChild(plot);
    Plotly.newPlot(plot, figure.data || [], layout, config(container.dataset.filename || name))
      .then(() => {
        const status = container.querySelector("[data-chart-status]");
        if (status) status.remove();
        container.setAttribute("aria-busy", "false");
      })
      .catch(() => showStatus(container, "This chart could not be drawn. The table and the CSV download have its numbers."));
  });
})();
